"""The admin's reads: prefix search, status counts, sign-ups per day, a person's record."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text, update

from db.engine import Database
from db.models import Subscriber, SubscriberStatus, utcnow
from subscribers import queries
from subscribers.erasure import erase
from subscribers.service import ConsentInfo, add_subscriber

CONSENT = ConsentInfo(source="form", text_version="2", ip="192.0.2.7", user_agent="Firefox")


def _people(db: Database) -> None:
    with db.session() as session:
        add_subscriber(session, "ada@example.org", ["videos"], CONSENT, confirmed=True, name="Ada")
        add_subscriber(session, "adam@example.net", ["weekly"], CONSENT, name="Adam")
        add_subscriber(session, "bea@example.org", ["videos"], CONSENT, name="Ada_Lovelace")
        add_subscriber(session, "cy%@example.org", ["videos"], CONSENT, name="Cy")


def test_search_matches_the_start_of_an_address_or_a_name(db: Database) -> None:
    _people(db)
    with db.session() as session:
        found = [p.email for p in queries.search(session, query="ADA")]
        by_list = [p.email for p in queries.search(session, query="ada", list_slug="videos")]
        confirmed = queries.search(session, query="ada", status=SubscriberStatus.confirmed)
        middle = queries.search(session, query="example")
    assert found == ["ada@example.org", "adam@example.net", "bea@example.org"]
    assert by_list == ["ada@example.org", "bea@example.org"]
    assert [p.email for p in confirmed] == ["ada@example.org"]
    assert middle == []  # a prefix search, not a substring one


def test_search_treats_like_wildcards_as_plain_characters(db: Database) -> None:
    _people(db)
    with db.session() as session:
        assert [p.email for p in queries.search(session, query="ada_")] == ["bea@example.org"]
        assert [p.email for p in queries.search(session, query="cy%")] == ["cy%@example.org"]
        assert queries.search(session, query="%") == []


def test_search_pages_by_id(db: Database) -> None:
    _people(db)
    with db.session() as session:
        first = queries.search(session, query="ad", limit=2)
        rest = queries.search(session, query="ad", after_id=first[-1].id, limit=2)
    assert [p.email for p in first + rest] == [
        "ada@example.org",
        "adam@example.net",
        "bea@example.org",
    ]


def test_status_counts_are_exact_on_a_small_table(db: Database) -> None:
    _people(db)
    with db.session() as session:
        counts = queries.status_counts(session)
    assert not counts.estimated
    assert counts.counts == {
        "pending": 3,
        "confirmed": 1,
        "unsubscribed": 0,
        "bounced": 0,
        "complained": 0,
    }
    assert counts.total == 4


def test_signups_per_day_has_every_day_with_zeros(db: Database) -> None:
    _people(db)
    now = utcnow()
    with db.session() as session:
        session.execute(
            update(Subscriber)
            .where(Subscriber.email == "ada@example.org")
            .values(created_at=now - dt.timedelta(days=2))
        )
    with db.session() as session:
        days = queries.signups_per_day(session, now - dt.timedelta(days=3), now)
    assert [n for _, n in days] == [0, 1, 0, 3]
    assert days[-1][0] == now.date()


def test_a_persons_record_has_consents_and_is_gone_after_erasure(db: Database) -> None:
    _people(db)
    with db.session() as session:
        [ada] = queries.search(session, query="ada@")
        record = queries.person(session, ada.id)
        assert record is not None
        assert record.subscriber.lists == ["videos"]
        assert [(c.source, c.ip, c.user_agent) for c in record.consents] == [
            ("form", "192.0.2.7", "Firefox")
        ]
        assert record.suppression is None
        erase(session, "ada@example.org")
    with db.session() as session:
        assert queries.person(session, ada.id) is None


def test_status_counts_come_from_statistics_on_a_large_postgresql_table(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    _people(db)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE subscribers"))
    monkeypatch.setattr(queries, "ESTIMATE_ABOVE", 1)  # stands in for a million rows
    with db.session() as session:
        counts = queries.status_counts(session)
    assert counts.estimated
    assert counts.counts["pending"] == 3 and counts.counts["confirmed"] == 1
