"""Poll feeds: fetch and parse in parallel, store one feed at a time.

Fetching is waiting on the network, so a thread pool fetches many feeds at
once through one shared httpx client. Parsing is CPU work that threads cannot
share (feedparser is pure Python), so a large poll hands it to one worker
process per core; a small poll, or a daemonic process (which may not start
children), parses on the fetching threads. Every database write happens on
the calling thread, one feed per transaction, so SQLite sees one writer and
a failure rolls back only that feed. A feed's failure is recorded on its row
(last error, error count) and pushes its next poll out exponentially; it never
reaches the other feeds.

A feed's first successful poll records what the feed already lists as backlog
(content/store.py): none of it is mailed unless the creator asks for a
backfill of the newest N (the feed's `backfill` setting, or `backfill=` here).
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.site import FeedConfig, SiteConfig
from content.fetch import FetchError, FetchPolicy, FetchResult, fetch, make_client
from content.parse import FeedParseError, ParseResult, parse_feed
from content.store import StoreResult, ensure_feed, store_posts
from db.engine import Database
from db.models import Feed, utcnow

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
JITTER = 0.1  # up to this share of the interval is added, so feeds drift apart
MAX_BACKOFF = dt.timedelta(hours=24)  # a failing feed is still tried at least daily
LEASE = dt.timedelta(minutes=5)  # a poll in progress keeps the next tick off the feed
MAX_NOTES = 50
PROCESS_THRESHOLD = 40  # feeds in one poll before parsing moves to worker processes


@dataclass
class PollReport:
    feed: str
    ok: bool
    not_modified: bool = False
    stored: StoreResult = field(default_factory=StoreResult)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    first_poll: bool = False

    def first_poll_note(self) -> str:
        """What a first poll did with the entries it found, in the creator's words."""
        count = self.stored.backlog
        entries = "entry" if count == 1 else "entries"
        recorded = f"first poll: {count} {entries} recorded as already published"
        if not self.stored.backfilled:
            return f"{recorded}; none will be mailed"
        return f"{recorded}; the newest {self.stored.backfilled} will be mailed (backfill)"


@dataclass(frozen=True)
class _Job:
    config: FeedConfig
    etag: str | None
    last_modified: str | None


@dataclass
class _Fetched:
    config: FeedConfig
    result: FetchResult | None = None
    parsed: ParseResult | None = None
    error: str | None = None


OnReport = Callable[[PollReport], None]


def poll_due(
    db: Database,
    site: SiteConfig,
    now: dt.datetime | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    on_report: OnReport | None = None,
) -> list[PollReport]:
    """Poll every feed whose next poll time has come (first polls use the site's backfill)."""
    now = now or utcnow()
    with db.session() as session:
        next_at = {name: at for name, at in session.execute(select(Feed.name, Feed.next_poll_at))}
    due = [f for f in site.feeds if (at := next_at.get(f.name)) is None or at <= now]
    return poll_feeds(db, site, due, now=now, workers=workers, on_report=on_report)


def poll_feeds(
    db: Database,
    site: SiteConfig,
    configs: Sequence[FeedConfig],
    *,
    now: dt.datetime | None = None,
    workers: int = DEFAULT_WORKERS,
    policy: FetchPolicy | None = None,
    rng: random.Random | None = None,
    on_report: OnReport | None = None,
    parse_processes: int | None = None,
    backfill: int | None = None,
) -> list[PollReport]:
    """Poll the given feeds now, whatever their schedule; one report per feed.

    `parse_processes`: worker processes for parsing; None chooses one per core
    for polls of PROCESS_THRESHOLD feeds or more, 0 parses on the fetch threads.
    `backfill`: on a feed's first poll, how many of its newest entries may be
    mailed; None takes each feed's `backfill` setting.
    """
    if not configs:
        return []
    now = now or utcnow()
    policy = policy or FetchPolicy(allow_private=site.newsletter.allow_private_hosts)
    rng = rng or random.Random()
    jobs = _claim(db, configs, now)
    reports: list[PollReport] = []
    workers = max(1, min(workers, len(jobs)))
    parsers = _parser_pool(len(jobs), parse_processes)
    try:
        with make_client(workers) as client, ThreadPoolExecutor(workers, "feed-poll") as pool:
            futures = [pool.submit(_fetch_and_parse, client, job, policy, parsers) for job in jobs]
            for future in as_completed(futures):
                fetched = future.result()
                first = fetched.config.backfill if backfill is None else backfill
                report = _record(db, fetched, rng, first)
                reports.append(report)
                if on_report:
                    on_report(report)
    finally:
        if parsers is not None:
            parsers.shutdown(cancel_futures=True)
    return reports


def _parser_pool(jobs: int, processes: int | None) -> ProcessPoolExecutor | None:
    if processes is None:
        processes = (os.cpu_count() or 1) if jobs >= PROCESS_THRESHOLD else 0
    if processes < 2 or multiprocessing.current_process().daemon:
        return None
    # spawn, not fork: this process already runs threads (and maybe a web server).
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))


def ingest_bytes(db: Database, config: FeedConfig, data: bytes) -> PollReport:
    """Parse and store a feed given as bytes (the demo's bundled files): every entry is
    new content to mail, so no first-poll backlog is recorded."""
    fetched = _parse(_Fetched(config), data)
    return _record(db, fetched, random.Random(0), first_poll_backfill=None)


def ingest_file(db: Database, config: FeedConfig, path: Path) -> PollReport:
    return ingest_bytes(db, config, path.read_bytes())


def _claim(db: Database, configs: Sequence[FeedConfig], now: dt.datetime) -> list[_Job]:
    """Read each feed's validators and lease it, so an overlapping tick leaves it alone."""
    try:
        return _claim_once(db, configs, now)
    except IntegrityError:  # another poller created a feed row first; now it exists
        return _claim_once(db, configs, now)


def _claim_once(db: Database, configs: Sequence[FeedConfig], now: dt.datetime) -> list[_Job]:
    jobs = []
    with db.session() as session:
        names = [c.name for c in configs]
        rows = {f.name: f for f in session.scalars(select(Feed).where(Feed.name.in_(names)))}
        for config in configs:
            feed = rows.get(config.name)
            if feed is None or (feed.url, feed.kind) != (config.url, config.resolved_kind):
                feed = ensure_feed(session, config)
            feed.next_poll_at = now + LEASE
            jobs.append(_Job(config, feed.etag, feed.last_modified))
    return jobs


def _fetch_and_parse(
    client: httpx.Client, job: _Job, policy: FetchPolicy, parsers: ProcessPoolExecutor | None
) -> _Fetched:
    """Runs on a pool thread: no database here, and no exception escapes."""
    fetched = _Fetched(job.config)
    try:
        fetched.result = fetch(
            client, job.config.url, etag=job.etag, last_modified=job.last_modified, policy=policy
        )
        if not fetched.result.not_modified:
            _parse(fetched, fetched.result.body, parsers)
    except (FetchError, FeedParseError) as exc:
        fetched.error = str(exc)
    except Exception as exc:  # a bug on one feed's input must not end the poll
        log.exception("feed %s: unexpected error", job.config.name)
        fetched.error = f"unexpected error: {type(exc).__name__}: {exc}"
    return fetched


def _parse(fetched: _Fetched, data: bytes, parsers: ProcessPoolExecutor | None = None) -> _Fetched:
    kind, tags = fetched.config.resolved_kind, fetched.config.tags
    if parsers is not None:
        try:
            fetched.parsed = parsers.submit(parse_feed, data, kind=kind, extra_tags=tags).result()
            return fetched
        except (BrokenProcessPool, OSError):
            log.warning("parser processes unavailable; parsing in this process")
    fetched.parsed = parse_feed(data, kind=kind, extra_tags=tags)
    return fetched


def _record(
    db: Database, fetched: _Fetched, rng: random.Random, first_poll_backfill: int | None
) -> PollReport:
    """Write one feed's outcome in its own transaction; a failure here is recorded too.

    `first_poll_backfill`: entries kept mailable if this is the feed's first
    successful poll; None: no backlog at all (every new entry is mailable)."""
    for attempt in (1, 2):
        try:
            with db.session() as session:
                return _apply_outcome(session, fetched, rng, first_poll_backfill)
        except IntegrityError:
            # Another poller stored the same post between our read and write;
            # the second attempt sees it and updates instead.
            if attempt == 2:
                fetched.error = "could not store posts: conflicting concurrent poll"
        except Exception as exc:
            log.exception("feed %s: storing failed", fetched.config.name)
            fetched.error = f"could not store posts: {type(exc).__name__}: {exc}"
            break
    fetched.result = fetched.parsed = None
    with db.session() as session:
        return _apply_outcome(session, fetched, rng, None)


def _apply_outcome(
    session: Session, fetched: _Fetched, rng: random.Random, first_poll_backfill: int | None
) -> PollReport:
    config = fetched.config
    feed = ensure_feed(session, config)
    first_poll = feed.last_success_at is None and first_poll_backfill is not None
    now = utcnow()
    feed.last_polled_at = now
    if fetched.error is not None:
        feed.last_error = fetched.error[:2000]
        feed.error_count = (feed.error_count or 0) + 1
        feed.next_poll_at = now + backoff(config.interval_minutes, feed.error_count, rng)
        # Info, not warning: the feed row keeps the error for `feeds list` and the admin.
        log.info("feed %s failed (%d in a row): %s", config.name, feed.error_count, fetched.error)
        return PollReport(feed=config.name, ok=False, error=fetched.error)
    report = PollReport(feed=config.name, ok=True, first_poll=first_poll)
    if fetched.result is not None:
        feed.etag, feed.last_modified = fetched.result.etag, fetched.result.last_modified
        report.not_modified = fetched.result.not_modified
    if fetched.parsed is not None:
        report.skipped, report.notes = fetched.parsed.skipped, fetched.parsed.notes
        report.stored = store_posts(
            session,
            feed,
            fetched.parsed.posts,
            hold_minutes=config.hold_minutes,
            now=now,
            first_poll_backfill=first_poll_backfill if first_poll else None,
        )
        feed.poll_notes = [n[:300] for n in [*report.skipped, *report.notes][:MAX_NOTES]]
    feed.last_success_at = now
    feed.last_error, feed.error_count = None, 0
    feed.next_poll_at = now + interval_with_jitter(config.interval_minutes, rng)
    return report


def interval_with_jitter(interval_minutes: int, rng: random.Random) -> dt.timedelta:
    return dt.timedelta(minutes=interval_minutes * (1 + rng.uniform(0, JITTER)))


def backoff(interval_minutes: int, failures: int, rng: random.Random) -> dt.timedelta:
    """The interval, doubled per failure in a row, capped at a day (or the interval if longer)."""
    interval = dt.timedelta(minutes=interval_minutes)
    cap = max(MAX_BACKOFF, interval)
    delay = min(interval * 2 ** min(max(failures - 1, 0), 20), cap)
    return delay * (1 + rng.uniform(0, JITTER))
