"""The beat's feed task in a real Celery worker on the real Redis server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from config.resources import SITE_EXAMPLE
from config.runtime import Runtime
from config.settings import Settings
from content.polling import poll_feeds
from db.models import Feed, Post, utcnow
from tasks.app import make_celery
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Video, youtube
from tests.support.firstday import HOLD_MINUTES, site_file
from tests.support.mail import messages
from tests.support.processes import settings_env, start_worker, stop, wait_for
from tests.support.seed import seed_subscribers

CHANNEL_URL = "https://www.youtube.com/feeds/videos.xml?channel_id=UCsteadygroundexample00"
BLOG_URL = "https://steady-ground.example/feed.xml"


@pytest.fixture
def feed_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The example site with its channel served on loopback and its blog failing."""
    with FeedServer() as server:
        server.route("/channel.xml", Route(body=youtube([Video("TaskVid0001", "Calm", "New.")])))
        server.route("/blog.xml", Route(status=503))
        text = (SITE_EXAMPLE).read_text()
        text = text.replace("allow_private_hosts = false", "allow_private_hosts = true")
        text = text.replace(CHANNEL_URL, server.url("/channel.xml"))
        text = text.replace(BLOG_URL, server.url("/blog.xml"))
        (tmp_path / "site.toml").write_text(text)
        yield settings.model_copy(update={"site_config": tmp_path / "site.toml"})


def test_a_real_worker_polls_due_feeds_and_records_the_failing_one(
    runtime: Runtime, feed_settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    process = start_worker(settings_env(feed_settings, redis_url), log)
    try:
        broker = make_celery(feed_settings.model_copy(update={"redis_url": redis_url}))
        broker.send_task("tasks.feeds.poll_due_feeds")

        def polled() -> bool:
            with runtime.db.session() as session:
                failing = session.scalar(select(Feed).where(Feed.name == "blog"))
                return bool(session.scalar(select(func.count(Post.id)))) and bool(
                    failing and failing.error_count
                )

        try:
            wait_for(polled, timeout=60, what="the channel stored and the blog's error recorded")
        except AssertionError:
            raise AssertionError(log.read_text()[-3000:]) from None
    finally:
        stop(process)
    with runtime.db.session() as session:
        assert session.scalars(select(Post.video_id)).all() == ["TaskVid0001"]
        blog = session.scalars(select(Feed).where(Feed.name == "blog")).one()
        assert blog.error_count == 1 and "HTTP 503" in (blog.last_error or "")


def test_the_task_returns_counts_when_run_in_process(
    runtime: Runtime, feed_settings: Settings
) -> None:
    from tasks.feeds import poll_due_feeds

    runtime.__dict__["site"] = Runtime(feed_settings).site
    assert poll_due_feeds() == {"polled": 2, "failed": 1, "new_posts": 1}
    assert poll_due_feeds() == {"polled": 0, "failed": 0, "new_posts": 0}  # nothing due yet


@pytest.mark.e2e
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a minute: one database
def test_a_worker_mails_a_held_video_when_its_hold_ends_with_no_beat_running(
    runtime: Runtime, settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    """The poll hands the video over with a Celery ETA: no beat tick is needed to send it."""
    old = Video("EtaOld00001", "An older video", "From last week.", "2026-11-20T10:00:00+00:00")
    new = Video("EtaNew00001", "A held video", "Just up.", "2026-12-01T10:00:00+00:00")
    with FeedServer() as server:
        server.route("/channel.xml", Route(body=youtube([old])))
        held = settings.model_copy(
            update={"site_config": site_file(tmp_path, server.url("/channel.xml"))}
        )
        site = Runtime(held).site  # the channel is held HOLD_MINUTES, with an instant schedule
        seed_subscribers(runtime.db, 1)
        poll_feeds(runtime.db, site, site.feeds)  # the first poll: the old video is backlog
        server.route("/channel.xml", Route(body=youtube([new, old])))
        with runtime.db.session() as session:  # the interval has passed
            session.execute(update(Feed).values(next_poll_at=utcnow()))
        log = tmp_path / "worker.log"
        process = start_worker(settings_env(held, redis_url), log)
        try:
            make_celery(held.model_copy(update={"redis_url": redis_url})).send_task(
                "tasks.feeds.poll_due_feeds"
            )
            wait_for(lambda: _available_at(runtime, new.video_id) is not None, 60, "the poll")
            available = _available_at(runtime, new.video_id)
            assert available is not None and available > utcnow()  # held
            wait = (available - utcnow()).total_seconds() + 15
            wait_for(lambda: bool(messages(held.outbox_dir)), wait, "the email after the hold")
            assert utcnow() >= available
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None
        finally:
            stop(process)
    [message] = messages(held.outbox_dir)
    assert message["Subject"] == "A held video"
    assert HOLD_MINUTES == 1  # the wait above is about a minute


def _available_at(runtime: Runtime, video_id: str) -> dt.datetime | None:
    with runtime.db.session() as session:
        return session.scalar(select(Post.available_at).where(Post.video_id == video_id))
