from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from db.engine import Database
from db.models import Event
from feedback.events import BadBatch, parse_body, parse_events, store_events
from subscribers.addresses import email_hash
from tests.support.sendgrid_events import event


def test_parse_body_refuses_what_is_not_a_json_array() -> None:
    with pytest.raises(BadBatch, match="not JSON"):
        parse_body(b"{nope")
    with pytest.raises(BadBatch, match="not a JSON array"):
        parse_body(b'{"event": "open"}')
    assert parse_body(b"[]") == []


def test_each_event_is_checked_alone_and_the_good_ones_are_kept() -> None:
    good = event("delivered", "ada@example.org", delivery_id=7, campaign_id=3)
    items = [
        "not an object",
        event("teleported", "ada@example.org"),
        {**event("open", "ada@example.org"), "sg_event_id": ""},
        event("open", "not-an-address"),
        {**event("open", "ada@example.org"), "timestamp": "soon"},
        {**event("open", "ada@example.org"), "timestamp": 12},
        {k: v for k, v in event("open", "ada@example.org").items() if k != "event"},
        {**event("open", "ada@example.org"), "email": ["ada@example.org"]},
        good,
    ]
    batch = parse_events(items)
    assert [r["provider_event_id"] for r in batch.rows] == [good["sg_event_id"]]
    reasons = {r.index: r.reason for r in batch.rejected}
    assert set(reasons) == {0, 1, 2, 3, 4, 5, 6, 7}
    assert reasons[0] == "event is not a JSON object"
    assert "unknown event type 'teleported'" in reasons[1]
    assert "sg_event_id" in reasons[2]
    assert "valid email" in reasons[3]
    assert "numeric timestamp" in reasons[4]
    assert "implausible timestamp" in reasons[5]
    assert "no 'event' type" in reasons[6]
    assert "valid email" in reasons[7]


def test_the_payload_keeps_technical_scalars_and_a_true_machine_flag() -> None:
    rows = parse_events(
        [
            event("open", "a@example.org", sg_machine_open=True, attempt={"nested": 1}),
            event("open", "a@example.org", sg_machine_open="yes"),
        ]
    ).rows
    assert [r["payload"] for r in rows] == [
        {"sg_message_id": "msg.filter0001", "sg_machine_open": True},
        {"sg_message_id": "msg.filter0001", "sg_machine_open": False},
    ]


def test_a_stored_event_names_people_only_by_hash() -> None:
    item = event(
        "bounce",
        " Ada@Example.org ",
        reason="550 5.1.1 <ada@example.org>: mailbox unknown",
        type="bounce",
        ip="203.0.113.9",
        useragent="Mail/1.0",
    )
    (row,) = parse_events([item]).rows
    assert row["email_hash"] == email_hash("ada@example.org")
    assert "ada@example.org" not in str(row)
    assert "203.0.113.9" not in str(row)
    assert row["reason"] == "550 5.1.1 <<address>>: mailbox unknown"
    assert row["payload"] == {"sg_message_id": "msg.filter0001", "type": "bounce"}


def test_custom_args_become_ids_and_nonsense_becomes_none() -> None:
    rows = parse_events(
        [
            event("open", "a@example.org", delivery_id=12, campaign_id=4),
            {**event("open", "a@example.org"), "delivery_id": "12; drop", "campaign_id": -1},
            {**event("open", "a@example.org"), "delivery_id": True, "campaign_id": 9},
        ]
    ).rows
    assert [(r["campaign_id"], r["delivery_id"]) for r in rows] == [
        (4, 12),
        (None, None),
        (9, None),
    ]


def test_the_event_time_is_the_providers_and_clicks_keep_their_url() -> None:
    at = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
    (row,) = parse_events(
        [event("click", "a@example.org", at=at.timestamp(), url="https://example.org/x")]
    ).rows
    assert row["occurred_at"] == at
    assert row["url"] == "https://example.org/x"


def test_an_event_repeated_in_one_batch_is_kept_once() -> None:
    item = event("open", "a@example.org")
    assert len(parse_events([item, dict(item)]).rows) == 1


def test_storing_the_same_events_twice_keeps_one_row_each(db: Database) -> None:
    rows = parse_events([event("open", f"p{n}@example.org") for n in range(5)]).rows
    with db.session() as session:
        first = store_events(session, rows)
    with db.session() as session:
        again = store_events(
            session, rows[2:] + parse_events([event("open", "q@example.org")]).rows
        )
    assert (len(first.new_ids), first.duplicates) == (5, 0)
    assert (len(again.new_ids), again.duplicates) == (1, 3)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 6
