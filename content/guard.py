"""Server-side request forgery guard: which URLs a feed fetch may connect to.

A feed URL comes from the site file, but redirects come from whoever answers,
so every hop is checked again. The check resolves the host name and judges the
addresses it resolves to, not the name: `intranet.example` that resolves to
10.0.0.5 is as private as 10.0.0.5. The fetch then connects to the address that
was checked (see `content.fetch`), so a second, different DNS answer cannot
slip a private address in between check and connect.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURLError(ValueError):
    """The URL may not be fetched; the message says why."""


class HostLookupError(UnsafeURLError):
    """The host name does not resolve, so nothing about it can be judged."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to for it."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    @property
    def netloc(self) -> str:
        """The Host header: the name as written, with the port only when not the default."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def pinned_url(self) -> str:
        """The same URL with the checked address in place of the name."""
        parts = urlsplit(self.url)
        address = f"[{self.address}]" if ":" in self.address else self.address
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.scheme}://{address}:{self.port}{path}{query}"


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def is_never_allowed(address: IPAddress) -> bool:
    """Addresses no feed lives on, even with private hosts allowed.

    Link-local covers cloud metadata services (169.254.169.254); multicast and
    the unspecified address are not servers at all.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address.is_multicast or address.is_unspecified


def check_url(url: str, *, allow_private: bool) -> Target:
    """Resolve and judge `url`; raises UnsafeURLError, else returns where to connect."""
    parts = _split(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    for address in addresses:
        if is_never_allowed(address) or not (allow_private or is_public(address)):
            raise UnsafeURLError(
                f"{host} resolves to {address}, a private or reserved address "
                "(set newsletter.allow_private_hosts in the site file to allow private hosts)"
            )
    return Target(url=url, scheme=parts.scheme, host=host, port=port, address=str(addresses[0]))


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UnsafeURLError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"only http and https URLs can be fetched, not {parts.scheme!r}")
    if not parts.hostname:
        raise UnsafeURLError("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURLError("URLs with credentials are not fetched")
    return parts._replace(scheme=parts.scheme.lower())


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostLookupError(f"cannot resolve {host}: {exc}") from None
    # Every answer is judged: a name with one public and one private address is refused.
    found = (ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    addresses = list(dict.fromkeys(found))
    if not addresses:
        raise HostLookupError(f"cannot resolve {host}")
    return addresses
