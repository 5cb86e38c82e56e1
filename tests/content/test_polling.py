from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from campaigns.compose import create_campaign, new_posts
from config.site import FeedConfig, SiteConfig
from content.fetch import FetchPolicy
from content.polling import JITTER, MAX_BACKOFF, backoff, poll_due, poll_feeds
from db.engine import Database
from db.models import Feed, Post, utcnow
from tests.content.conftest import site_with_feeds
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Item, rss

BLOG = [
    Item("b-1", "Notes on sleep", "https://blog.example/1", "<p>Sleep is a skill.</p>"),
    Item("b-2", "Notes on walking", "https://blog.example/2", "<p>Walk after lunch.</p>"),
]


def _feed(server: FeedServer, name: str, route: Route, **extra: object) -> FeedConfig:
    url = server.route(f"/{name}.xml", route)
    return FeedConfig(name=name, url=url, kind="articles", **extra)  # type: ignore[arg-type]


def _count(db: Database, feed: str | None = None) -> int:
    query = select(func.count(Post.id))
    if feed:
        query = query.join(Feed).where(Feed.name == feed)
    with db.session() as session:
        return int(session.scalar(query) or 0)


def _row(db: Database, name: str) -> Feed:
    with db.session() as session:
        return session.scalars(select(Feed).where(Feed.name == name)).one()


def test_first_poll_stores_posts_and_a_304_stores_nothing_new(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    blog = _feed(feed_server, "blog", Route(body=rss(BLOG), etag='"e1"'))
    site = site_with_feeds(site, blog)
    (first,) = poll_feeds(db, site, [blog])
    assert first.ok and first.stored.new == 2
    assert _row(db, "blog").etag == '"e1"'
    (second,) = poll_feeds(db, site, [blog])
    assert second.ok and second.not_modified
    assert (second.stored.new, second.stored.updated, second.stored.unchanged) == (0, 0, 0)
    assert _count(db) == 2
    assert feed_server.requests_for("/blog.xml")[-1].headers["if-none-match"] == '"e1"'
    assert _row(db, "blog").last_success_at is not None


def test_a_restarted_poller_inserts_no_duplicates(
    database_url: str, site: SiteConfig, feed_server: FeedServer
) -> None:
    blog = _feed(feed_server, "blog", Route(body=rss(BLOG)))  # no validators: full body each time
    site = site_with_feeds(site, blog)
    for _restart in range(3):
        db = Database.from_url(database_url)
        (report,) = poll_feeds(db, site, [blog])
        assert report.ok
        db.engine.dispose()
    db = Database.from_url(database_url)
    assert _count(db) == 2
    db.engine.dispose()


def test_one_failing_feed_is_recorded_and_the_others_still_store(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    good = _feed(feed_server, "good", Route(body=rss(BLOG)))
    bad = _feed(feed_server, "bad", Route(status=500, body=b"down"))
    site = site_with_feeds(site, bad, good)
    reports = {r.feed: r for r in poll_feeds(db, site, [bad, good])}
    assert reports["good"].ok and reports["good"].stored.new == 2
    assert not reports["bad"].ok and "HTTP 500" in (reports["bad"].error or "")
    row = _row(db, "bad")
    assert row.error_count == 1 and "HTTP 500" in (row.last_error or "")
    assert row.last_success_at is None
    assert _count(db, "good") == 2


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (Route(status=404, body=b"gone"), "HTTP 404"),
        (Route(body=rss(BLOG), delay=3.0), "timed out"),
        (Route(stream_bytes=50 * 1024 * 1024), "larger than"),
        (Route(body=b"<html><body><p>Welcome to my blog</p></body></html>"), "not a feed"),
        (Route(body=b'<!DOCTYPE r [<!ENTITY a "aaaa">]><rss/>'), "declares XML entities"),
        (Route(status=302, location="http://169.254.169.254/"), "refused"),
    ],
    ids=["404", "timeout", "50MB", "html-page", "entities", "redirect-to-metadata"],
)
def test_each_hostile_feed_gives_one_recorded_error(
    db: Database, site: SiteConfig, feed_server: FeedServer, route: Route, error: str
) -> None:
    feed = _feed(feed_server, "hostile", route)
    site = site_with_feeds(site, feed)
    # Only the slow route gets a short deadline: a loaded machine must not fail the others.
    policy = FetchPolicy(allow_private=True, timeout=1.0 if route.delay else 30.0)
    (report,) = poll_feeds(db, site, [feed], policy=policy)
    assert not report.ok and error in (report.error or "")
    row = _row(db, "hostile")
    assert error in (row.last_error or "") and row.error_count == 1


def test_skipped_entries_and_adjustments_are_recorded_on_the_feed(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    items = [
        *BLOG,
        Item("no-link", "Linkless", None),
        Item(
            "future",
            "Too early",
            "https://blog.example/f",
            published="Fri, 01 Jan 2100 00:00:00 +0000",
        ),
    ]
    feed = _feed(feed_server, "blog", Route(body=rss(items)))
    (report,) = poll_feeds(db, site_with_feeds(site, feed), [feed])
    assert report.ok and report.stored.new == 3
    notes = _row(db, "blog").poll_notes or []
    assert "entry 3: skipped, no usable http(s) link" in notes
    assert any("2100-01-01" in n and "clamped" in n for n in notes)
    with db.session() as session:
        future = session.scalars(select(Post).where(Post.guid == "future")).one()
        assert future.published_at is not None and future.published_at <= utcnow()


def test_a_feed_without_dates_is_dated_when_first_seen(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    feed = _feed(
        feed_server,
        "blog",
        Route(body=rss([Item("u", "Undated", "https://b.example/u", published=None)])),
    )
    poll_feeds(db, site_with_feeds(site, feed), [feed])
    with db.session() as session:
        post = session.scalars(select(Post)).one()
        assert post.published_at == post.first_seen_at


def test_repeated_failures_back_off_exponentially_and_success_resets(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    feed = _feed(feed_server, "flaky", Route(status=503), interval_minutes=10)
    site = site_with_feeds(site, feed)
    delays = []
    for _ in range(4):
        before = utcnow()
        poll_feeds(db, site, [feed], rng=random.Random(1))
        delays.append((_row(db, "flaky").next_poll_at or before) - before)
    assert _row(db, "flaky").error_count == 4
    for n, delay in enumerate(delays):
        low = dt.timedelta(minutes=10 * 2**n) - dt.timedelta(seconds=5)
        assert (
            low <= delay <= dt.timedelta(minutes=10 * 2**n) * (1 + JITTER) + dt.timedelta(seconds=5)
        )
    feed_server.route("/flaky.xml", Route(body=rss(BLOG)))
    (report,) = poll_feeds(db, site, [feed])
    row = _row(db, "flaky")
    assert report.ok and row.error_count == 0 and row.last_error is None


def test_backoff_is_capped_at_a_day_unless_the_interval_is_longer() -> None:
    rng = random.Random(0)
    assert backoff(30, 50, rng) <= MAX_BACKOFF * (1 + JITTER)
    assert backoff(30, 50, rng) >= MAX_BACKOFF
    assert backoff(3 * 24 * 60, 5, rng) >= dt.timedelta(days=3)


def test_poll_due_polls_only_feeds_whose_time_has_come(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    a = _feed(feed_server, "a", Route(body=rss(BLOG)), interval_minutes=30)
    b = _feed(feed_server, "b", Route(body=rss(BLOG)), interval_minutes=30)
    site = site_with_feeds(site, a, b)
    assert {r.feed for r in poll_due(db, site)} == {"a", "b"}
    assert poll_due(db, site) == []  # both polled a moment ago
    later = utcnow() + dt.timedelta(minutes=30 * (1 + JITTER) + 1)
    assert {r.feed for r in poll_due(db, site, later)} == {"a", "b"}
    assert _count(db) == 4  # two feeds, two posts each, never duplicated


def test_an_edited_post_is_updated_but_never_new_again(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    feed = _feed(feed_server, "blog", Route(body=rss(BLOG)), backfill=2)  # both mailable
    site = site_with_feeds(site, feed)
    poll_feeds(db, site, [feed])
    with db.session() as session:
        create_campaign(session, site, lists=["articles"], schedule_name="weekly")
    edited = [
        BLOG[0],
        Item(
            "b-2", "Notes on walking (fixed)", "https://blog.example/2", "<p>Walk after dinner.</p>"
        ),
    ]
    feed_server.route("/blog.xml", Route(body=rss(edited)))
    (report,) = poll_feeds(db, site, [feed])
    assert (report.stored.new, report.stored.updated, report.stored.unchanged) == (0, 1, 1)
    with db.session() as session:
        post = session.scalars(select(Post).where(Post.guid == "b-2")).one()
        assert post.title == "Notes on walking (fixed)"
        assert new_posts(session, "weekly", utcnow()) == []


def test_the_hold_window_keeps_a_new_post_out_of_campaigns(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    feed = _feed(feed_server, "blog", Route(body=rss(BLOG)), hold_minutes=15, backfill=2)
    poll_feeds(db, site_with_feeds(site, feed), [feed])  # both backfilled, both held
    with db.session() as session:
        assert new_posts(session, None, utcnow()) == []
        later = utcnow() + dt.timedelta(minutes=16)
        assert len(new_posts(session, None, later)) == 2


def test_many_feeds_poll_concurrently_without_losing_any(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    feeds = [
        _feed(
            feed_server,
            f"f{i}",
            Route(body=rss([Item(f"g{i}", f"Post {i}", f"https://b.example/{i}")])),
        )
        for i in range(24)
    ]
    feeds.append(_feed(feed_server, "broken", Route(status=500)))
    seen: list[str] = []
    reports = poll_feeds(
        db, site_with_feeds(site, *feeds), feeds, workers=6, on_report=lambda r: seen.append(r.feed)
    )
    assert sorted(seen) == sorted(f.name for f in feeds)
    assert sum(r.ok for r in reports) == 24
    assert _count(db) == 24


def test_a_poll_can_parse_in_worker_processes(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    feeds = [_feed(feed_server, f"p{i}", Route(body=rss(BLOG))) for i in range(3)]
    reports = poll_feeds(db, site_with_feeds(site, *feeds), feeds, parse_processes=2)
    assert all(r.ok and r.stored.new == 2 for r in reports)
    assert _count(db) == 6


def test_two_pollers_at_once_on_the_same_feed_store_each_post_once(
    database_url: str, site: SiteConfig, feed_server: FeedServer
) -> None:
    feed = _feed(feed_server, "blog", Route(body=rss(BLOG)))
    site = site_with_feeds(site, feed)
    pollers = [Database.from_url(database_url) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda db: poll_feeds(db, site, [feed]), pollers))
    assert all(report.ok for reports in results for report in reports)
    assert _count(pollers[0]) == 2
    for db in pollers:
        db.engine.dispose()


def test_a_loopback_feed_is_refused_when_the_site_does_not_allow_private_hosts(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    feed = _feed(feed_server, "local", Route(body=rss(BLOG)))
    strict = site_with_feeds(site, feed)
    strict = strict.model_copy(
        update={"newsletter": strict.newsletter.model_copy(update={"allow_private_hosts": False})}
    )
    (report,) = poll_feeds(db, strict, [feed])
    assert not report.ok and "private or reserved" in (report.error or "")
    assert feed_server.requests_for("/local.xml") == []
    assert _count(db) == 0


# -- a feed's first poll --------------------------------------------------------------

DATED = [  # newest first, as feeds list them
    Item(
        "d-3", "Third note", "https://blog.example/d3", published="Sun, 22 Nov 2026 09:00:00 +0000"
    ),
    Item(
        "d-1", "First note", "https://blog.example/d1", published="Fri, 20 Nov 2026 09:00:00 +0000"
    ),
    Item(
        "d-2", "Second note", "https://blog.example/d2", published="Sat, 21 Nov 2026 09:00:00 +0000"
    ),
]


def _mailable_titles(db: Database) -> list[str]:
    with db.session() as session:
        return [p.title for p in new_posts(session, None, utcnow())]


def test_a_feeds_first_poll_records_its_entries_as_already_published(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    blog = _feed(feed_server, "blog", Route(body=rss(DATED)))
    site = site_with_feeds(site, blog)
    (first,) = poll_feeds(db, site, [blog])
    assert first.first_poll and (first.stored.new, first.stored.backlog) == (3, 3)
    assert first.first_poll_note() == (
        "first poll: 3 entries recorded as already published; none will be mailed"
    )
    assert _count(db) == 3 and _mailable_titles(db) == []
    fresh = Item("d-4", "Fourth note", "https://blog.example/d4")
    feed_server.route("/blog.xml", Route(body=rss([fresh, *DATED])))
    (second,) = poll_feeds(db, site, [blog])
    assert not second.first_poll and (second.stored.new, second.stored.backlog) == (1, 0)
    assert _mailable_titles(db) == ["Fourth note"]


def test_a_first_poll_that_failed_leaves_the_next_success_as_the_first(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    blog = _feed(feed_server, "blog", Route(status=503))
    site = site_with_feeds(site, blog)
    (failed,) = poll_feeds(db, site, [blog])
    assert not failed.ok and not failed.first_poll
    feed_server.route("/blog.xml", Route(body=rss(DATED)))
    (first,) = poll_feeds(db, site, [blog])
    assert first.first_poll and first.stored.backlog == 3
    assert _mailable_titles(db) == []


def test_a_backfill_keeps_the_newest_entries_of_the_first_poll_mailable(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    blog = _feed(feed_server, "blog", Route(body=rss(DATED)), backfill=2)
    site = site_with_feeds(site, blog)
    (first,) = poll_feeds(db, site, [blog])
    assert (first.stored.backlog, first.stored.backfilled) == (1, 2)
    assert first.first_poll_note() == (
        "first poll: 1 entry recorded as already published; the newest 2 will be mailed (backfill)"
    )
    assert _mailable_titles(db) == ["Third note", "Second note"]  # by date, not feed order


def test_a_poll_may_ask_for_its_own_backfill(
    db: Database, site: SiteConfig, feed_server: FeedServer
) -> None:
    blog = _feed(feed_server, "blog", Route(body=rss(DATED)), backfill=2)
    site = site_with_feeds(site, blog)
    (first,) = poll_feeds(db, site, [blog], backfill=1)
    assert (first.stored.backlog, first.stored.backfilled) == (2, 1)
    assert _mailable_titles(db) == ["Third note"]
