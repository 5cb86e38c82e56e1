"""The sponsor desk's outgoing hook: a signed POST on every booking state change.

The body is `{"id", "event": "booking_state", "created_at", "data": {booking_id,
sponsor, from, to}}`, signed like the site file's hooks (feedback.hooks:
`X-Broadsheet-Signature: sha256=<HMAC-SHA256 of "timestamp.body">`). The URL
comes from the settings (`SPONSOR_HOOK_URL`), and every POST passes the feed
fetcher's SSRF guard (content.guard) first and connects to the address it
checked; redirects are not followed. Nothing personal is sent.
"""

from __future__ import annotations

import dataclasses

import httpx

from content.guard import UnsafeURLError, check_url
from feedback.hooks import HookFailed, hook_payload, signed_headers
from sponsorship.inventory import Change

EVENT = "booking_state"
TIMEOUT_SECONDS = 10.0


def change_body(change: Change) -> str:
    data = dataclasses.asdict(change)
    data["from"], data["to"] = data.pop("old"), data.pop("new")
    return hook_payload(EVENT, data)  # type: ignore[arg-type]


def post_guarded(
    client: httpx.Client, url: str, secret: str, body: str, *, allow_private: bool
) -> int:
    """POST once to the checked address; HookFailed(retry=...) when it did not take it."""
    try:
        target = check_url(url, allow_private=allow_private)
    except UnsafeURLError as exc:
        raise HookFailed(f"sponsor hook to {url} refused: {exc}", retry=False) from None
    raw = body.encode("utf-8")
    request = client.build_request(
        "POST",
        target.pinned_url(),
        content=raw,
        headers={**signed_headers(secret, EVENT, raw), "Host": target.netloc},
        timeout=TIMEOUT_SECONDS,
        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
    )
    try:
        response = client.send(request, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise HookFailed(f"sponsor hook to {url}: {type(exc).__name__}", retry=True) from exc
    if response.is_success:
        return response.status_code
    retry = response.status_code in (408, 429) or response.status_code >= 500
    raise HookFailed(f"sponsor hook to {url}: HTTP {response.status_code}", retry=retry)
