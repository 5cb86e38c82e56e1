"""Stored events applied to subscribers, suppressions and deliveries."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from config.runtime import Runtime
from db.models import Delivery, Event, Subscriber, SubscriberStatus, Suppression
from feedback.apply import Applied, Rules, apply_events, pending_ids
from feedback.events import parse_events, store_events
from subscribers.addresses import email_hash
from tests.support.sendgrid_events import add_people, deliveries_by_email, event, send_campaign

PEOPLE = ["ada@example.org", "ben@example.org", "cy@example.org"]


def ingest(rt: Runtime, events: list[dict[str, Any]], limit: int = 3) -> Applied:
    """Store then apply, as the webhook and its task do."""
    with rt.db.session() as session:
        store_events(session, parse_events(events).rows)
    with rt.db.session() as session:
        return apply_events(session, Rules(soft_bounce_limit=limit))


def person(rt: Runtime, email: str) -> tuple[SubscriberStatus, int, str | None]:
    with rt.db.session() as session:
        sub = session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        suppression = session.get(Suppression, sub.email_hash)
        return sub.status, sub.soft_bounces, suppression.reason if suppression else None


def delivery(rt: Runtime, delivery_id: int) -> Delivery:
    with rt.db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row


def sent_campaign(rt: Runtime) -> dict[str, int]:
    """Send one campaign to PEOPLE; returns their delivery ids."""
    add_people(rt, PEOPLE)
    return deliveries_by_email(rt, send_campaign(rt))


def test_a_hard_bounce_suppresses_the_address_at_once(rt: Runtime) -> None:
    ids = sent_campaign(rt)
    ingest(
        rt, [event("bounce", "ada@example.org", delivery_id=ids["ada@example.org"], type="bounce")]
    )
    assert person(rt, "ada@example.org") == (SubscriberStatus.bounced, 0, "bounced")
    assert person(rt, "ben@example.org") == (SubscriberStatus.confirmed, 0, None)


def test_a_blocked_bounce_is_soft_and_the_limit_suppresses(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    blocked = [event("bounce", "ada@example.org", type="blocked") for _ in range(2)]
    ingest(rt, blocked, limit=3)
    assert person(rt, "ada@example.org") == (SubscriberStatus.confirmed, 2, None)
    ingest(
        rt, [event("bounce", "ada@example.org", type="bounce", bounce_classification="Technical")]
    )
    assert person(rt, "ada@example.org") == (SubscriberStatus.bounced, 3, "bounced")


def test_a_delivered_message_resets_the_soft_bounce_count(rt: Runtime) -> None:
    ids = sent_campaign(rt)
    ingest(rt, [event("bounce", "ben@example.org", type="blocked") for _ in range(2)])
    ingest(rt, [event("delivered", "ben@example.org", delivery_id=ids["ben@example.org"])])
    assert person(rt, "ben@example.org") == (SubscriberStatus.confirmed, 0, None)


def test_the_deferrals_of_one_message_count_once(rt: Runtime) -> None:
    ids = sent_campaign(rt)
    d = ids["cy@example.org"]
    ingest(rt, [event("deferred", "cy@example.org", delivery_id=d, attempt="1") for _ in range(2)])
    ingest(rt, [event("deferred", "cy@example.org", delivery_id=d, attempt="3")])
    assert person(rt, "cy@example.org") == (SubscriberStatus.confirmed, 1, None)


def test_a_deferral_of_a_message_delivered_in_the_same_batch_does_not_count(rt: Runtime) -> None:
    ids = sent_campaign(rt)
    d = ids["ada@example.org"]
    at = time.time() - 60
    ingest(
        rt,
        [
            event("deferred", "ada@example.org", delivery_id=d, at=at),
            event("delivered", "ada@example.org", delivery_id=d, at=at + 30),
        ],
    )
    assert person(rt, "ada@example.org") == (SubscriberStatus.confirmed, 0, None)


def test_complaints_and_unsubscribes_suppress_with_their_own_status(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    applied = ingest(
        rt,
        [
            event("spamreport", "ada@example.org"),
            event("unsubscribe", "ben@example.org"),
            event("group_unsubscribe", "cy@example.org", asm_group_id=4),
        ],
    )
    assert person(rt, "ada@example.org") == (SubscriberStatus.complained, 0, "complained")
    assert person(rt, "ben@example.org") == (SubscriberStatus.unsubscribed, 0, "unsubscribed")
    assert person(rt, "cy@example.org") == (SubscriberStatus.unsubscribed, 0, "unsubscribed")
    assert applied.suppressed == 3
    assert len(applied.unsubscribed) == 2  # the hook hears of unsubscribes, not complaints


def test_a_drop_suppresses_only_when_the_reason_is_the_address(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    applied = ingest(
        rt,
        [
            event("dropped", "ada@example.org", reason="Bounced Address"),
            event("dropped", "ben@example.org", reason="Spam Content (if spam checker app is on)"),
            event("dropped", "cy@example.org", reason="Unsubscribed Address"),
        ],
    )
    assert person(rt, "ada@example.org")[0] is SubscriberStatus.bounced
    assert person(rt, "ben@example.org") == (SubscriberStatus.confirmed, 0, None)
    assert person(rt, "cy@example.org")[0] is SubscriberStatus.unsubscribed
    assert applied.ignored == {"dropped for a reason that does not concern the address": 1}


def test_delivered_opens_and_clicks_are_counted_per_delivery(rt: Runtime) -> None:
    ids = sent_campaign(rt)
    at = time.time() - 120
    ingest(
        rt,
        [
            event("delivered", "ada@example.org", delivery_id=ids["ada@example.org"], at=at),
            event("open", "ada@example.org", delivery_id=ids["ada@example.org"]),
            event("open", "ada@example.org", delivery_id=ids["ada@example.org"]),
            event(
                "click",
                "ben@example.org",
                delivery_id=ids["ben@example.org"],
                url="https://x.example/",
            ),
        ],
    )
    ada, ben, cy = (delivery(rt, ids[e]) for e in PEOPLE)
    assert ada.delivered_at is not None and int(ada.delivered_at.timestamp()) == int(at)
    assert (ada.opened, ada.clicked) == (True, False)
    assert (ben.opened, ben.clicked, ben.delivered_at) == (False, True, None)
    assert (cy.opened, cy.clicked, cy.delivered_at) == (False, False, None)


def test_an_event_for_an_unknown_address_is_stored_and_ignored(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    applied = ingest(rt, [event("bounce", "stranger@example.org", type="bounce")])
    assert applied.ignored == {"unknown address and delivery": 1}
    with rt.db.session() as session:
        stored = session.scalars(select(Event)).one()
        assert stored.email_hash == email_hash("stranger@example.org")
        assert stored.processed_at is not None
        assert session.get(Suppression, email_hash("stranger@example.org")) is None


def test_an_event_naming_someone_elses_delivery_does_not_count_for_it(rt: Runtime) -> None:
    ids = sent_campaign(rt)
    applied = ingest(rt, [event("open", "ada@example.org", delivery_id=ids["ben@example.org"])])
    assert delivery(rt, ids["ben@example.org"]).opened is False
    assert applied.ignored == {
        f"delivery {ids['ben@example.org']} belongs to another address": 1,
        "no known delivery id": 1,
    }


def test_an_event_is_applied_once_however_often_processing_runs(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    ingest(rt, [event("bounce", "ada@example.org", type="blocked")])
    for _ in range(3):
        with rt.db.session() as session:
            assert apply_events(session, Rules()).processed == 0
    assert person(rt, "ada@example.org")[1] == 1


def test_stored_events_stay_pending_until_their_own_claim(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    with rt.db.session() as session:
        stored = store_events(
            session,
            parse_events([event("open", "ada@example.org"), event("open", "ben@example.org")]).rows,
        )
    first, second = stored.new_ids
    with rt.db.session() as session:
        assert pending_ids(session) == [first, second]
        assert apply_events(session, Rules(), [first]).processed == 1
    with rt.db.session() as session:
        assert pending_ids(session) == [second]
        processed = dict(session.execute(select(Event.id, Event.processed_at)).tuples().all())
    assert processed[first] is not None and processed[second] is None


def test_a_resubscribe_through_the_provider_does_not_resubscribe(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    ingest(rt, [event("group_unsubscribe", "ada@example.org")])
    applied = ingest(rt, [event("group_resubscribe", "ada@example.org")])
    assert person(rt, "ada@example.org")[0] is SubscriberStatus.unsubscribed
    assert sum(applied.ignored.values()) == 1
