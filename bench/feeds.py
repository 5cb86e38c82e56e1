"""Poll N feeds served by one threaded HTTP server on loopback: a first full poll, then all 304.

Each feed is a fictional YouTube-shaped channel feed of 15 videos (what
YouTube serves) with an ETag, so the second poll is a conditional GET that
the server answers 304 for every feed. The server runs in its own process, as
a real feed host would, so its work is not billed to the poller's threads.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from bench.common import Figure
from config.resources import SITE_EXAMPLE
from config.site import FeedConfig, SiteConfig, load_site
from content.polling import DEFAULT_WORKERS, poll_feeds
from db.engine import Database
from db.migrate import upgrade
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Video, youtube

ENTRIES = 15
TARGET_SECONDS = 10.0  # for 500 feeds


def _feed_body(n: int) -> bytes:
    videos = [
        Video(
            f"B{n:05d}v{i:04d}",
            f"Channel {n}, episode {i}: a slower way through a hard evening",
            f"Episode {i} of channel {n}: three small steps for a hard evening.\n"
            f"We try each one together and talk about what made it stick.\n"
            f"Join the channel {n} club: https://club.example/{n}\n"
            "Support the channel: https://tipjar.example/bench",
        )
        for i in range(ENTRIES)
    ]
    return youtube(videos, channel=f"UCbench{n:05d}")


def _serve(count: int, conn: Connection) -> None:
    """The child process: serve `count` feeds until the parent says stop."""
    with FeedServer() as server:
        for n in range(count):
            server.route(f"/feeds/{n}.xml", Route(body=_feed_body(n), etag=f'"b{n}"'))
        conn.send(server.url("/feeds/"))
        conn.recv()


def run(quick: bool) -> list[Figure]:
    count = 100 if quick else 500
    example = load_site(SITE_EXAMPLE)
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(count, child))
    server.start()
    try:
        base = parent.recv()
        return _measure(count, example, base)
    finally:
        parent.send("stop")
        server.join(timeout=10)


def _measure(count: int, example: SiteConfig, base: str) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        feeds = tuple(
            FeedConfig(name=f"feed-{n}", url=f"{base}{n}.xml", kind="youtube") for n in range(count)
        )
        newsletter = example.newsletter.model_copy(update={"allow_private_hosts": True})
        site = example.model_copy(update={"newsletter": newsletter, "feeds": feeds})
        db = Database.from_url(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(db.engine)

        started = time.perf_counter()
        first = poll_feeds(db, site, feeds, workers=DEFAULT_WORKERS)
        full_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = poll_feeds(db, site, feeds, workers=DEFAULT_WORKERS)
        unchanged_seconds = time.perf_counter() - started
        db.engine.dispose()

    failed = sum(not r.ok for r in [*first, *second])
    new_posts = sum(r.stored.new for r in first)
    if failed or new_posts != count * ENTRIES or not all(r.not_modified for r in second):
        raise RuntimeError(f"bench feeds: {failed} failed, {new_posts} new posts")
    scale = f"{count} feeds x {ENTRIES} entries, {DEFAULT_WORKERS} workers, SQLite"
    return [
        Figure(
            "feeds",
            "first poll",
            count / full_seconds,
            "feeds/s",
            target=500 / TARGET_SECONDS,
            note=f"{scale}; {full_seconds:.2f} s",
        ),
        Figure("feeds", "first poll time", full_seconds, "s", note=scale),
        Figure(
            "feeds",
            "no-change poll (all 304)",
            unchanged_seconds,
            "s",
            target=TARGET_SECONDS * count / 500,
            direction="max",
            note=scale,
        ),
    ]
