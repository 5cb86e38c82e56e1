"""Fetch feed bytes over HTTP with httpx: timeout, size cap, conditional GET."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

USER_AGENT = "Broadsheet/0.1 (+self-hosted newsletter; feed poller)"
MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class FetchError(RuntimeError):
    """The feed could not be fetched; the message is what the feed's status shows."""


@dataclass(frozen=True)
class FetchResult:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(
    client: httpx.Client, url: str, *, etag: str | None = None, last_modified: str | None = None
) -> FetchResult:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/atom+xml, application/rss+xml, "
        "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with client.stream("GET", url, headers=headers, timeout=TIMEOUT) as response:
            if response.status_code == 304:
                return FetchResult(304, b"", etag, last_modified)
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} from {url}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise FetchError(f"response larger than {MAX_BYTES // (1024 * 1024)} MB")
            return FetchResult(
                response.status_code,
                bytes(body),
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
    except httpx.TimeoutException:
        raise FetchError(f"timed out fetching {url}") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch {url}: {exc}") from None


def make_client() -> httpx.Client:
    return httpx.Client(follow_redirects=True, max_redirects=3, headers={"User-Agent": USER_AGENT})
