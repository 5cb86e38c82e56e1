"""Poll feeds: fetch, parse, store; one feed's failure is recorded, never spread."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from config.site import FeedConfig, SiteConfig
from content.fetch import FetchError, fetch, make_client
from content.parse import FeedParseError, parse_feed
from content.store import StoreResult, ensure_feed, store_posts
from db.engine import Database
from db.models import Feed, utcnow


@dataclass
class PollReport:
    feed: str
    ok: bool
    not_modified: bool = False
    stored: StoreResult = field(default_factory=StoreResult)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None


def ingest_bytes(db: Database, config: FeedConfig, data: bytes) -> PollReport:
    """Parse and store a feed given as bytes (the demo's bundled files, tests)."""
    report = PollReport(feed=config.name, ok=True)
    parsed = parse_feed(data, kind=config.resolved_kind, extra_tags=config.tags)
    report.skipped = parsed.skipped
    with db.session() as session:
        feed = ensure_feed(session, config)
        report.stored = store_posts(session, feed, parsed.posts, hold_minutes=config.hold_minutes)
        feed.last_success_at = feed.last_polled_at = utcnow()
        feed.last_error, feed.error_count = None, 0
    return report


def ingest_file(db: Database, config: FeedConfig, path: Path) -> PollReport:
    return ingest_bytes(db, config, path.read_bytes())


def poll_feed(db: Database, config: FeedConfig, client: httpx.Client) -> PollReport:
    with db.session() as session:
        feed = ensure_feed(session, config)
        etag, last_modified = feed.etag, feed.last_modified
    try:
        result = fetch(client, config.url, etag=etag, last_modified=last_modified)
        if result.not_modified:
            _record_success(db, config, result.etag, result.last_modified)
            return PollReport(feed=config.name, ok=True, not_modified=True)
        report = ingest_bytes(db, config, result.body)
        _record_success(db, config, result.etag, result.last_modified)
        return report
    except (FetchError, FeedParseError) as exc:
        _record_failure(db, config, str(exc))
        return PollReport(feed=config.name, ok=False, error=str(exc))


def _record_success(
    db: Database, config: FeedConfig, etag: str | None, modified: str | None
) -> None:
    now = utcnow()
    with db.session() as session:
        feed = ensure_feed(session, config)
        feed.etag, feed.last_modified = etag, modified
        feed.last_polled_at = feed.last_success_at = now
        feed.last_error, feed.error_count = None, 0
        feed.next_poll_at = now + dt.timedelta(minutes=config.interval_minutes)


def _record_failure(db: Database, config: FeedConfig, error: str) -> None:
    now = utcnow()
    with db.session() as session:
        feed = ensure_feed(session, config)
        feed.last_polled_at = now
        feed.last_error = error[:2000]
        feed.error_count += 1
        feed.next_poll_at = now + dt.timedelta(minutes=config.interval_minutes)


def poll_due(db: Database, site: SiteConfig, now: dt.datetime | None = None) -> int:
    """Poll every feed whose next poll time has come; returns how many were polled."""
    now = now or utcnow()
    with db.session() as session:
        next_at = dict(session.execute(select(Feed.name, Feed.next_poll_at)).tuples().all())
    due = [f for f in site.feeds if (at := next_at.get(f.name)) is None or at <= now]
    with make_client() as client:
        for config in due:
            poll_feed(db, config, client)
    return len(due)
