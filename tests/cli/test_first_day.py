"""A creator's first day, run as they run it: real processes, a served feed, a reader.

Each test starts Broadsheet's own commands from a directory of their own with
their own site file, lets the first poll find the channel's back catalogue,
subscribes and confirms a reader through the web pages, then publishes one
video and waits for the email. What must hold:

- the back catalogue is not mailed (the first poll records it as published);
- exactly one email arrives, leading with the new video, within the feed's
  interval + hold + 30 s of the video appearing in the feed;
- no process logged a traceback.

`broadsheet serve` without REDIS_URL is the README's default mode (SQLite, the
beat on a thread); `web` + `worker` + `beat` with Redis and PostgreSQL is the
production shape; `serve` with REDIS_URL starts worker and beat itself. The
first two take about two minutes each: the interval and hold are whole
minutes, as a creator sets them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import throwaway_postgres
from tests.support.feed_server import FeedServer
from tests.support.firstday import (
    BACKLOG,
    HOLD_MINUTES,
    INTERVAL_MINUTES,
    MARGIN_SECONDS,
    NEW_VIDEO,
    FirstDay,
    new_video,
    site_file,
    titles_in,
)
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

BOUND = (INTERVAL_MINUTES + HOLD_MINUTES) * 60 + MARGIN_SECONDS


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def _first_day(day: FirstDay) -> None:
    """The part every deployment shape shares, once its processes are started."""
    day.wait_for_web()
    day.wait_for_first_poll()
    day.subscribe_and_confirm()
    day.serve_feed([new_video(), *BACKLOG])
    published = time.monotonic()
    took = day.wait_for_edition(published, BOUND)
    time.sleep(3)  # a second email (the backlog, a duplicate) would come right behind it
    editions = day.editions()
    assert len(editions) == 1, [str(m["Subject"]) for m in editions]
    [edition] = editions
    assert str(edition["To"]) == "first.reader@example.org"
    assert NEW_VIDEO.title in str(edition["Subject"])
    assert titles_in(edition) == [NEW_VIDEO.title], "the back catalogue must not be mailed"
    print(f"new video to outbox: {took:.1f} s (bound {BOUND} s)")
    day.stop_all()
    logs = day.logs()
    for name, log in logs.items():
        assert "Traceback" not in log, f"{name} logged a traceback:\n{log[-4000:]}"
    # Whichever process ran the tasks (serve, or the worker) said what they did.
    assert any(": created campaign" in log for log in logs.values()), list(logs)


def test_serve_embedded_mails_one_new_video_and_not_the_backlog(
    feed: FeedServer, tmp_path: Path
) -> None:
    day = FirstDay(
        directory=tmp_path,
        feed=feed,
        database_url=f"sqlite:///{tmp_path / 'broadsheet.db'}",
        port=free_port(),
    )
    day.serve_feed(BACKLOG)
    site_file(tmp_path, feed.url("/channel.xml"))
    init = day.run("init")
    assert init.returncode == 0, init.stderr
    day.start("serve", "serve", "--port", str(day.port))
    try:
        _first_day(day)
    finally:
        day.stop_all()


def test_web_worker_and_beat_on_postgres_and_redis_mail_one_new_video(
    feed: FeedServer, tmp_path: Path, redis_url: str
) -> None:
    with throwaway_postgres("broadsheet_firstday") as database_url:
        day = FirstDay(
            directory=tmp_path,
            feed=feed,
            database_url=database_url,
            port=free_port(),
            redis_url=redis_url,
        )
        day.serve_feed(BACKLOG)
        site_file(tmp_path, feed.url("/channel.xml"))
        init = day.run("init")
        assert init.returncode == 0, init.stderr
        day.start("web", "web", "--port", str(day.port))
        day.start("worker", "worker", "--concurrency", "2")
        day.start("beat", "beat")
        try:
            _first_day(day)
        finally:
            day.stop_all()
        logs = day.logs()
        # Two minutes of 5-second ticks: the ones that did nothing left no line.
        assert "Sending due task run-schedules" not in logs["beat"], logs["beat"][-2000:]
        idle = [
            line
            for line in logs["worker"].splitlines()
            if "run_schedules[" in line and ("received" in line or line.endswith(": []"))
        ]
        assert idle == [], idle[:3]


def test_serve_with_redis_starts_a_worker_and_beat_that_poll_from_a_fresh_directory(
    feed: FeedServer, tmp_path: Path, redis_url: str
) -> None:
    """`serve` with REDIS_URL runs worker and beat as child processes; from a directory
    without var/ the beat must still find somewhere to keep its schedule."""
    day = FirstDay(
        directory=tmp_path,
        feed=feed,
        database_url=f"sqlite:///{tmp_path / 'broadsheet.db'}",
        port=free_port(),
        redis_url=redis_url,
    )
    day.serve_feed(BACKLOG)
    site_file(tmp_path, feed.url("/channel.xml"))
    init = day.run("init")
    assert init.returncode == 0, init.stderr
    assert not (tmp_path / "var").exists()
    day.start("serve", "serve", "--port", str(day.port))
    try:
        day.wait_for_web()
        day.wait_for_first_poll()  # the beat ticked and a worker polled
    finally:
        day.stop_all()
    log = day.logs()["serve"]
    assert "Traceback" not in log, log[-4000:]
