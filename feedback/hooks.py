"""Outgoing hooks: a signed JSON POST to the creator's own URLs on subscribe, unsubscribe
and campaign sent (site file `[[hooks]]`).

The receiver checks two headers:
- `X-Broadsheet-Timestamp`: Unix seconds when this attempt was signed;
- `X-Broadsheet-Signature`: `sha256=` + hex HMAC-SHA256, keyed with the hook's
  secret, of `timestamp + "." + body` (the raw bytes). Signing the timestamp
  with the body stops an old body being replayed under a new time.
`X-Broadsheet-Event` names the event; the body's `id` is stable across retries,
so a receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.site import Hook, SiteConfig
from db.models import Campaign, Subscriber, utcnow

HookKind = Literal["subscribe", "unsubscribe", "campaign_sent"]
SIGNATURE_HEADER = "X-Broadsheet-Signature"
TIMESTAMP_HEADER = "X-Broadsheet-Timestamp"
EVENT_HEADER = "X-Broadsheet-Event"
TIMEOUT_SECONDS = 10.0


class HookFailed(Exception):
    """The receiver did not take the event; `retry` says whether trying again can help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class HookCall:
    """One POST to make: plain data, so a task can carry it."""

    url: str
    kind: str
    body: str


def hook_payload(kind: HookKind, data: dict[str, Any]) -> str:
    """The JSON body; built once so every retry sends the same bytes and id."""
    return json.dumps(
        {"id": uuid.uuid4().hex, "event": kind, "created_at": utcnow().isoformat(), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


def subscriber_data(subscriber: Subscriber, reason: str | None = None) -> dict[str, Any]:
    """What a `subscribe`/`unsubscribe` hook says about a person."""
    data: dict[str, Any] = {
        "subscriber_id": subscriber.id,
        "email": subscriber.email,
        "status": subscriber.status.value,
    }
    if reason:
        data["reason"] = reason
    return data


def campaign_data(campaign: Campaign, counts: dict[str, int]) -> dict[str, Any]:
    """What a `campaign_sent` hook says: the campaign and its delivery counts."""
    return {"campaign_id": campaign.id, "subject": campaign.subject, "deliveries": counts}


def calls_for(site: SiteConfig, kind: HookKind, data: dict[str, Any]) -> list[HookCall]:
    """One call per hook that asked for this kind of event."""
    matching = [h for h in site.hooks if kind in h.events]
    if not matching:
        return []
    body = hook_payload(kind, data)
    return [HookCall(url=str(h.url), kind=kind, body=body) for h in matching]


def unsubscribe_calls(
    session: Session, site: SiteConfig, subscriber_ids: list[int]
) -> list[HookCall]:
    """Hook calls for people the provider unsubscribed (SendGrid unsubscribe events)."""
    if not subscriber_ids or not site.hooks:
        return []
    people = session.scalars(select(Subscriber).where(Subscriber.id.in_(subscriber_ids)))
    return [
        call
        for person in people
        for call in calls_for(site, "unsubscribe", subscriber_data(person, reason="provider"))
    ]


def find_hook(site: SiteConfig, url: str, kind: str) -> Hook | None:
    """The hook a queued call belongs to; the secret stays in the site file, not the queue."""
    return next((h for h in site.hooks if str(h.url) == url and kind in h.events), None)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, kind: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: kind,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str, body: bytes, headers: dict[str, str], max_age: int = 300, now: float | None = None
) -> bool:
    """The receiver's check, in Python (our tests use it; so can a receiver written in Python)."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
        given = headers[SIGNATURE_HEADER]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > max_age:
        return False
    return hmac.compare_digest(given, signature(secret, timestamp, body))


def post(client: httpx.Client, hook: Hook, call: HookCall) -> int:
    """POST once; returns the status, or raises HookFailed (retry on network, 408, 429, 5xx)."""
    body = call.body.encode("utf-8")
    try:
        response = client.post(
            str(hook.url),
            content=body,
            headers=signed_headers(hook.secret, call.kind, body),
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise HookFailed(
            f"{call.kind} hook to {hook.url}: {type(exc).__name__}", retry=True
        ) from exc
    if response.is_success:
        return response.status_code
    retry = response.status_code in (408, 429) or response.status_code >= 500
    raise HookFailed(f"{call.kind} hook to {hook.url}: HTTP {response.status_code}", retry=retry)
