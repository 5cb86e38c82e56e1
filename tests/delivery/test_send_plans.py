"""A send's statements read ranges, not tables, even where PostgreSQL has no statistics.

A list imported a moment ago, on a server whose autovacuum has not analysed it
yet (or never will: autovacuum off), is where a plan built on guesses turns a
batch's lookup into a scan of the whole table. Here the big tables are filled
with plain SQL and never analysed; every statement of a fan-out slice, a
batch's send and the finish check is captured as it runs, then EXPLAINed
with its own parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text

from campaigns.compose import create_campaign
from config.resources import SITE_EXAMPLE
from config.site import load_site
from db.engine import Database
from delivery import campaign_send
from delivery.outbox import OutboxSender
from delivery.personalize import LinkMaker
from tests.conftest import throwaway_postgres

PEOPLE = 150_000
BIG_TABLES = ("subscribers", "subscriptions", "deliveries", "suppressions")


@pytest.fixture(scope="module")
def unanalysed() -> Iterator[Database]:
    """PostgreSQL with many subscribers, a long ledger and suppressions, never analysed."""
    with throwaway_postgres("broadsheet_plans") as url:
        db = Database.from_url(url)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO subscribers (email, email_hash, status, cadence, created_at,"
                    " soft_bounces) SELECT 'reader' || g || '@example.org',"
                    " md5(g::text) || md5(g::text), 'confirmed', 'instant', now(), 0"
                    " FROM generate_series(1, :n) g"
                ),
                {"n": PEOPLE},
            )
            conn.execute(
                text(
                    "INSERT INTO subscriptions (subscriber_id, list_slug, created_at)"
                    " SELECT id, 'videos', now() FROM subscribers"
                )
            )
            # An earlier campaign's sent rows, with a sponsor (the frequency caps read them).
            conn.execute(
                text(
                    "INSERT INTO deliveries (campaign_id, subscriber_id, email_hash, status,"
                    " queued_at, sent_at, attempts, disclaimers, opened, clicked, sponsor_name)"
                    " SELECT 999, id, email_hash, 'sent', now(), now(), 1, '[]', false, false,"
                    " 'Lanternleaf' FROM subscribers"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO suppressions (email_hash, reason, created_at)"
                    " SELECT md5(g || 'gone') || md5(g::text), 'complained', now()"
                    " FROM generate_series(1, :n) g"
                ),
                {"n": PEOPLE // 4},
            )
        yield db
        db.engine.dispose()


def never_analysed(db: Database) -> bool:
    with db.engine.connect() as conn:
        stats = conn.scalar(
            text("SELECT count(*) FROM pg_stats WHERE tablename = ANY(:t)"),
            {"t": list(BIG_TABLES)},
        )
        analysed = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname = ANY(:t)"
                " AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"
            ),
            {"t": list(BIG_TABLES)},
        )
    return stats == 0 and analysed == 0


def test_a_send_on_tables_never_analysed_scans_none_of_the_big_tables(
    unanalysed: Database, tmp_path: Path
) -> None:
    db, site = unanalysed, load_site(SITE_EXAMPLE)
    assert never_analysed(db)
    with db.session() as session:
        cid = create_campaign(session, site, lists=["videos"], subject="Hi", intro="A note.").id
    campaign_send.start_campaign(db, site, cid)
    captured: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        captured.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        # A slice in the middle of the list, then a batch of it sent, then the finish check.
        with db.session() as session:
            session.execute(
                text("UPDATE campaigns SET fanout_cursor = :c WHERE id = :id"),
                {"c": PEOPLE // 2, "id": cid},
            )
        batches = campaign_send.queue_slice(db, site, cid, 10_000)
        assert batches and sum(len(b) for b in batches) == 10_000
        links = LinkMaker("http://letters.example", "plan-test-secret-0123456789")
        outcome = campaign_send.send_batch(
            db, site, OutboxSender(tmp_path / "outbox"), links, cid, batches[1]
        )
        assert outcome.sent == 1000
        campaign_send.finish_if_done(db, cid)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert never_analysed(db), "the steps above must not have gathered statistics"

    scans: list[str] = []
    explained = 0
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET max_parallel_workers_per_gather = 0")  # as db/engine.py sets it
        for statement, params in captured:
            if not re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", statement, re.I):
                continue
            cursor.execute("EXPLAIN " + statement, params)  # type: ignore[arg-type]
            plan = "\n".join(row[0] for row in cursor.fetchall())
            explained += 1
            for table in BIG_TABLES:
                if re.search(rf"Seq Scan on {table}\b", plan):
                    scans.append(f"{table}: {statement[:200]}\n{plan[:2000]}")
    finally:
        raw.rollback()
        raw.close()
    assert explained >= 8  # the slice's insert, the claim, the batch's reads and writes
    assert not scans, "\n\n".join(scans)
