from __future__ import annotations

import gzip

import httpx
import pytest

from content.fetch import USER_AGENT, FetchError, FetchPolicy, fetch, make_client
from tests.support.feed_server import FeedServer, Route
from tests.support.tls import make_certificates

LOOPBACK = FetchPolicy(allow_private=True)
FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


def test_fetch_names_broadsheet_in_the_user_agent(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed.xml", Route(body=FEED))
    result = fetch(client, url, policy=LOOPBACK)
    assert result.status == 200 and result.body == FEED
    (seen,) = feed_server.requests_for("/feed.xml")
    assert seen.headers["user-agent"] == USER_AGENT
    assert "Broadsheet" in USER_AGENT
    assert seen.headers["host"] == url.split("/")[2]  # the name, not the pinned address


def test_loopback_is_refused_unless_the_site_allows_private_hosts(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed.xml", Route(body=FEED))
    with pytest.raises(FetchError, match="private or reserved"):
        fetch(client, url, policy=FetchPolicy(allow_private=False))
    assert feed_server.requests_for("/feed.xml") == []  # refused before connecting


def test_conditional_get_sends_validators_and_a_304_has_no_body(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route(
        "/feed.xml",
        Route(body=FEED, etag='"v1"', last_modified="Tue, 24 Nov 2026 16:00:00 GMT"),
    )
    first = fetch(client, url, policy=LOOPBACK)
    assert (first.etag, first.last_modified) == ('"v1"', "Tue, 24 Nov 2026 16:00:00 GMT")
    second = fetch(client, url, etag=first.etag, last_modified=first.last_modified, policy=LOOPBACK)
    assert second.not_modified and second.body == b""
    assert second.etag == '"v1"'
    last = feed_server.requests_for("/feed.xml")[-1]
    assert last.headers["if-none-match"] == '"v1"'
    assert last.headers["if-modified-since"] == "Tue, 24 Nov 2026 16:00:00 GMT"


def test_a_server_error_is_a_fetch_error(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.route("/feed.xml", Route(status=500, body=b"oops"))
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch(client, url, policy=LOOPBACK)


def test_a_slow_server_times_out(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.route("/slow.xml", Route(body=FEED, delay=2.0))
    with pytest.raises(FetchError, match="timed out"):
        fetch(client, url, policy=FetchPolicy(allow_private=True, timeout=0.3))


def test_a_declared_50_mb_body_is_refused_before_reading_it(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/huge.xml", Route(stream_bytes=50 * 1024 * 1024))
    with pytest.raises(FetchError, match="larger than 5 MB"):
        fetch(client, url, policy=LOOPBACK)
    # The server saw the connection go away long before 50 MB were written.
    assert feed_server.streamed_bytes("/huge.xml") < 20 * 1024 * 1024


def test_an_undeclared_50_mb_body_is_cut_off_at_the_cap(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/huge.xml", Route(stream_bytes=50 * 1024 * 1024, declare_length=False))
    with pytest.raises(FetchError, match="larger than 5 MB"):
        fetch(client, url, policy=LOOPBACK)
    assert feed_server.streamed_bytes("/huge.xml") < 20 * 1024 * 1024


def test_redirects_are_followed_and_reported(feed_server: FeedServer, client: httpx.Client) -> None:
    final = feed_server.route("/new.xml", Route(body=FEED))
    start = feed_server.route("/old.xml", Route(status=301, location="/new.xml"))
    result = fetch(client, start, policy=LOOPBACK)
    assert result.body == FEED and result.url == final


def test_redirect_loops_stop_at_the_limit(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.route("/a.xml", Route(status=302, location="/b.xml"))
    feed_server.route("/b.xml", Route(status=302, location="/a.xml"))
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetch(client, url, policy=FetchPolicy(allow_private=True, max_redirects=3))
    assert len(feed_server.state.requests) == 4


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_every_redirect_target_passes_the_guard(
    feed_server: FeedServer, client: httpx.Client, target: str
) -> None:
    url = feed_server.route("/feed.xml", Route(status=302, location=target))
    with pytest.raises(FetchError, match="refused"):
        fetch(client, url, policy=LOOPBACK)


def test_a_redirect_without_location_is_an_error(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed.xml", Route(status=302))
    with pytest.raises(FetchError, match="without a Location"):
        fetch(client, url, policy=LOOPBACK)


@pytest.mark.parametrize("certified_name", ["localhost", "feeds.other.example"])
def test_https_is_pinned_to_the_checked_address_yet_verifies_the_host_name(
    certified_name: str,
) -> None:
    certs = make_certificates(certified_name)
    with FeedServer(tls=certs.server) as server, make_client(verify=certs.client) as client:
        server.route("/feed.xml", Route(body=FEED))
        url = server.url("/feed.xml").replace("127.0.0.1", "localhost")
        if certified_name == "localhost":
            assert fetch(client, url, policy=LOOPBACK).body == FEED
            assert server.requests_for("/feed.xml")[0].headers["host"].startswith("localhost:")
        else:  # the certificate names another host: refused, although the address matched
            with pytest.raises(FetchError, match=r"(?i)certificate"):
                fetch(client, url, policy=LOOPBACK)


def test_a_gzip_bomb_is_cut_off_at_the_cap_on_its_expanded_size(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MB of zeros in about 64 KB
    assert len(bomb) < 1024 * 1024
    url = feed_server.route("/bomb.xml", Route(body=bomb, content_encoding="gzip"))
    with pytest.raises(FetchError, match="larger than 5 MB"):
        fetch(client, url, policy=LOOPBACK)


def test_a_gzipped_feed_within_the_cap_is_read(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed.xml", Route(body=gzip.compress(FEED), content_encoding="gzip"))
    assert fetch(client, url, policy=LOOPBACK).body == FEED


def test_a_corrupt_compressed_body_is_a_fetch_error(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed.xml", Route(body=b"not gzip at all", content_encoding="gzip"))
    with pytest.raises(FetchError, match="could not decompress"):
        fetch(client, url, policy=LOOPBACK)


def test_an_unknown_content_encoding_is_a_fetch_error(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed.xml", Route(body=FEED, content_encoding="compress"))
    with pytest.raises(FetchError, match="unsupported Content-Encoding"):
        fetch(client, url, policy=LOOPBACK)
    assert feed_server.requests_for("/feed.xml")[0].headers["accept-encoding"] == "gzip, deflate"


def test_a_host_that_does_not_resolve_is_a_fetch_error_not_a_refusal(
    client: httpx.Client,
) -> None:
    with pytest.raises(FetchError, match=r"could not fetch .*cannot resolve"):
        fetch(client, "http://no-such-host.invalid/feed.xml", policy=LOOPBACK)
