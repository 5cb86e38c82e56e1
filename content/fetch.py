"""Fetch feed bytes over HTTP with httpx: guarded hops, size cap, deadline, conditional GET.

Redirects are followed here, one hop at a time, so that every target passes
the SSRF guard before anything connects to it. The body is read as a stream
and abandoned as soon as it passes the size cap or the deadline, so a 50 MB
answer or a server that drips one byte a second costs almost nothing.
"""

from __future__ import annotations

import ssl
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from content.guard import HostLookupError, UnsafeURLError, check_url

USER_AGENT = "Broadsheet/0.1 (+self-hosted newsletter; feed poller)"
MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 10.0
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)


class FetchError(RuntimeError):
    """The feed could not be fetched; the message is what the feed's status shows."""


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; the defaults suit real feeds, tests tighten them."""

    allow_private: bool = False
    max_bytes: int = MAX_BYTES
    max_redirects: int = MAX_REDIRECTS
    timeout: float = TIMEOUT_SECONDS  # for the whole fetch, every hop and byte included


@dataclass(frozen=True)
class FetchResult:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    url: str  # where the body finally came from, after redirects

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(
    client: httpx.Client,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    policy: FetchPolicy | None = None,
) -> FetchResult:
    policy = policy or FetchPolicy()
    deadline = time.monotonic() + policy.timeout
    # Only encodings we decode ourselves, with a bound (see _read_capped).
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        for _hop in range(policy.max_redirects + 1):
            result = _fetch_once(client, url, headers, policy, deadline)
            if isinstance(result, str):
                url = result
                continue
            if result.not_modified:  # a server may omit the validators on a 304: keep ours
                etag, last_modified = result.etag or etag, result.last_modified or last_modified
                return FetchResult(304, b"", etag, last_modified, url)
            return result
        raise FetchError(f"more than {policy.max_redirects} redirects")
    except HostLookupError as exc:
        raise FetchError(f"could not fetch {url}: {exc}") from None
    except UnsafeURLError as exc:
        raise FetchError(f"refused {url}: {exc}") from None
    except httpx.TimeoutException:
        raise FetchError(f"timed out after {policy.timeout:g} s fetching {url}") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch {url}: {exc}") from None
    except zlib.error as exc:
        raise FetchError(f"could not decompress the response from {url}: {exc}") from None


def _fetch_once(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    policy: FetchPolicy,
    deadline: float,
) -> FetchResult | str:
    """One hop: a FetchResult, or the next URL to try when the answer is a redirect."""
    target = check_url(url, allow_private=policy.allow_private)
    remaining = _remaining(deadline, policy, url)
    request = client.build_request(
        "GET",
        target.pinned_url(),  # connect to the address the guard checked
        headers={**headers, "Host": target.netloc},
        timeout=httpx.Timeout(remaining),
        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
    )
    response = client.send(request, stream=True, follow_redirects=False)
    try:
        if response.status_code in REDIRECT_CODES:
            location = response.headers.get("Location")
            if not location:
                raise FetchError(f"HTTP {response.status_code} without a Location from {url}")
            return urljoin(url, location)
        if response.status_code >= 400:
            raise FetchError(f"HTTP {response.status_code} from {url}")
        body = b"" if response.status_code == 304 else _read_capped(response, policy, deadline, url)
        return FetchResult(
            response.status_code,
            body,
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            url,
        )
    finally:
        response.close()


def _read_capped(response: httpx.Response, policy: FetchPolicy, deadline: float, url: str) -> bytes:
    too_big = f"response from {url} is larger than {_size(policy.max_bytes)}"
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError(too_big)  # refused before a byte of the body is read
    decoder = _decoder(response.headers.get("Content-Encoding", ""), url)
    body = bytearray()
    for chunk in response.iter_raw():
        # Never expand more than the room left (+1 to notice the overflow), so a
        # small gzip bomb cannot balloon in memory before the cap sees it.
        body += decoder.decompress(chunk, policy.max_bytes - len(body) + 1) if decoder else chunk
        if len(body) > policy.max_bytes:
            raise FetchError(too_big)
        _remaining(deadline, policy, url)
    if decoder:
        body += decoder.flush()
        if len(body) > policy.max_bytes:
            raise FetchError(too_big)
    return bytes(body)


def _decoder(content_encoding: str, url: str) -> zlib._Decompress | None:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"unsupported Content-Encoding {encoding!r} from {url}")


def _remaining(deadline: float, policy: FetchPolicy, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"timed out after {policy.timeout:g} s fetching {url}")
    return left


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def make_client(max_connections: int = 16, verify: ssl.SSLContext | bool = True) -> httpx.Client:
    """One client shared by a poll's threads; redirects are followed by `fetch` itself."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.Client(
        follow_redirects=False, limits=limits, verify=verify, headers={"User-Agent": USER_AGENT}
    )
