from __future__ import annotations

import pytest

from content.guard import UnsafeURLError, check_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed.xml",
        "http://localhost:8080/feed.xml",  # a name that resolves to loopback
        "http://10.1.2.3/feed.xml",
        "http://192.168.0.10/feed.xml",
        "http://172.16.5.5/feed.xml",
        "http://[::1]/feed.xml",
        "http://[::ffff:10.0.0.1]/feed.xml",  # IPv4-mapped IPv6
        "http://100.64.0.1/feed.xml",  # carrier-grade NAT, not global
        "http://0x7f000001/feed.xml",  # loopback written as one hex number
    ],
)
def test_private_and_loopback_hosts_are_refused_by_default(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="private or reserved"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata: link-local
        "http://[fe80::1]/feed.xml",
        "http://224.0.0.1/feed.xml",
        "http://0.0.0.0/feed.xml",
    ],
)
def test_link_local_multicast_and_unspecified_are_refused_even_when_private_is_allowed(
    url: str,
) -> None:
    with pytest.raises(UnsafeURLError):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://feeds.example/feed.xml", "only http and https"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http:///feed.xml", "no host"),
        ("http://user:secret@127.0.0.1/feed.xml", "credentials"),
        ("http://127.0.0.1:99999/feed.xml", "not a valid URL"),
        ("http://no-such-host.invalid/feed.xml", "cannot resolve"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url(url, allow_private=True)


def test_loopback_is_allowed_when_the_site_file_says_so() -> None:
    target = check_url("http://localhost:8123/feeds/a.xml?x=1", allow_private=True)
    assert target.address in {"127.0.0.1", "::1"}
    assert target.netloc == "localhost:8123"
    assert target.pinned_url().endswith(":8123/feeds/a.xml?x=1")


def test_a_public_address_is_allowed_and_pinned() -> None:
    target = check_url("https://93.184.215.14/feed.xml", allow_private=False)
    assert target.address == "93.184.215.14"
    assert target.netloc == "93.184.215.14"
    assert target.pinned_url() == "https://93.184.215.14:443/feed.xml"
