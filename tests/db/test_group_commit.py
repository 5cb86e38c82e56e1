"""Group commit: jobs waiting together share a transaction; one failure fails one job."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from config.site import SiteConfig
from db.engine import Database
from db.group_commit import GroupCommit
from db.models import Subscriber
from subscribers.addresses import InvalidEmail
from subscribers.service import ConsentInfo
from subscribers.signup import prepare_signup, record_signup

FORM = ConsentInfo(source="form", text_version="2026-11", ip="203.0.113.9", user_agent="Firefox")


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Subscriber)) or 0


def _signup(site: SiteConfig, address: str):  # type: ignore[no-untyped-def]
    request = prepare_signup(site, address, [], FORM)
    return lambda session: record_signup(session, request)


def test_a_job_returns_only_after_its_write_is_committed(db: Database, site: SiteConfig) -> None:
    writer = GroupCommit(db)
    outcome = writer.run(_signup(site, "first@example.org"))
    assert outcome.confirm_subscriber_id is not None
    # A separate session sees the row: run() returned after the commit.
    assert _count(db) == 1


def test_jobs_that_wait_together_share_one_transaction(db: Database, site: SiteConfig) -> None:
    writer = GroupCommit(db, max_batch=64)
    sessions: list[Session] = []  # held, so no two can share an id
    release = threading.Event()

    def first(session: Session) -> None:
        release.wait(10)  # hold the writer's turn until the others have queued

    def counted(address: str):  # type: ignore[no-untyped-def]
        job = _signup(site, address)

        def work(session: Session) -> object:
            sessions.append(session)
            return job(session)

        return work

    with ThreadPoolExecutor(9) as pool:
        blocker = pool.submit(writer.run, first)
        _until(writer._turn.locked)
        futures = [pool.submit(writer.run, counted(f"p{i}@example.org")) for i in range(8)]
        _until(lambda: len(writer._queue) == 8)
        release.set()
        blocker.result(10)
        outcomes = [f.result(10) for f in futures]
    assert all(o.confirm_subscriber_id is not None for o in outcomes)
    assert len(sessions) == 8
    assert len({id(s) for s in sessions}) == 1, "the eight queued sign-ups were one transaction"
    assert _count(db) == 8


def test_a_failing_job_fails_alone_and_the_rest_commit(db: Database, site: SiteConfig) -> None:
    writer = GroupCommit(db, max_batch=64)
    release = threading.Event()

    def first(session: Session) -> None:
        release.wait(10)

    def broken(session: Session) -> None:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    with ThreadPoolExecutor(6) as pool:
        blocker = pool.submit(writer.run, first)
        _until(writer._turn.locked)
        good = [pool.submit(writer.run, _signup(site, f"g{i}@example.org")) for i in range(4)]
        bad = pool.submit(writer.run, broken)
        _until(lambda: len(writer._queue) == 5)
        release.set()
        blocker.result(10)
        assert all(f.result(10).confirm_subscriber_id is not None for f in good)
        with pytest.raises(Exception, match="no_such_table"):
            bad.result(10)
    assert _count(db) == 4


def test_input_is_checked_before_the_writer_is_asked(site: SiteConfig) -> None:
    with pytest.raises(InvalidEmail):
        prepare_signup(site, "josé@example.org", [], FORM)
