"""The beat's feed task in a real Celery worker on the real Redis server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.runtime import Runtime
from config.settings import PROJECT_ROOT, Settings
from db.models import Feed, Post
from tasks.app import make_celery
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Video, youtube
from tests.support.processes import settings_env, start_worker, stop, wait_for

CHANNEL_URL = "https://www.youtube.com/feeds/videos.xml?channel_id=UCsteadygroundexample00"
BLOG_URL = "https://steady-ground.example/feed.xml"


@pytest.fixture
def feed_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The example site with its channel served on loopback and its blog failing."""
    with FeedServer() as server:
        server.route("/channel.xml", Route(body=youtube([Video("TaskVid0001", "Calm", "New.")])))
        server.route("/blog.xml", Route(status=503))
        text = (PROJECT_ROOT / "site.example.toml").read_text()
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
