"""Stored events to state: suppression, subscriber status, per-delivery counters.

Events are claimed (their pending_events row deleted, processed_at set) in the
same transaction that applies them, so a crash rolls both back and the events
stay pending; a second worker never applies an event twice. The frequent kinds
(processed, delivered, open, click) become a few grouped UPDATEs per batch; the
rare kinds (bounces, complaints, unsubscribes, deferrals) are applied one by
one, in time order.

Rules (see docs/ARCHITECTURE.md, "Feedback"):
- hard bounce, spam report, unsubscribe, group unsubscribe: suppressed at once;
- dropped: suppressed when SendGrid's reason names the address (bounced,
  unsubscribed, spam-reporting, invalid); a drop for content is logged only;
- soft failures (a `blocked` or soft-classified bounce, the first deferral of
  a delivery) add one to `Subscriber.soft_bounces`; at the limit the address is
  suppressed as bounced; a delivered message resets the count;
- any event carrying a delivery id proves SendGrid accepted that message, so an
  `uncertain` delivery becomes `sent` (reconciliation "confirmed").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    ScalarSelect,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from config.settings import Settings
from db.models import (
    Delivery,
    DeliveryStatus,
    Event,
    PendingEvent,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
from subscribers.service import suppress

log = logging.getLogger(__name__)

# SendGrid's bounce classifications that blame the message or the sender, not the address.
SOFT_CLASSIFICATIONS = frozenset({"technical", "content", "reputation", "frequency/volume"})
# Words in a `dropped` reason and the suppression they mean.
DROP_REASONS = (
    ("unsubscribe", "unsubscribed"),
    ("spam report", "complained"),
    ("bounced address", "bounced"),
    ("invalid", "bounced"),
)
SUPPRESSING = {
    "spamreport": "complained",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
}
RARE_TYPES = frozenset({"bounce", "dropped", "deferred", "group_resubscribe", *SUPPRESSING})
# Core tables: the hot statements skip the ORM, whose bookkeeping costs more than the SQL.
DELIVERIES = cast(Table, Delivery.__table__)
EVENTS = cast(Table, Event.__table__)
PENDING = cast(Table, PendingEvent.__table__)
# Rows of the named columns selected below (attribute access by column name).
EventRow = Row[Any]


@dataclass(frozen=True)
class Rules:
    soft_bounce_limit: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(soft_bounce_limit=settings.soft_bounce_limit)


@dataclass
class Applied:
    """What one call did; `unsubscribed` feeds the outgoing `unsubscribe` hook."""

    processed: int = 0
    ignored: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0
    confirmed: int = 0
    unsubscribed: list[int] = field(default_factory=list)

    def ignore(self, event: EventRow, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1
        log.info("event %s (%s) ignored: %s", event.provider_event_id, event.type, reason)


def is_hard_bounce(bounce_type: object, classification: object) -> bool:
    """`blocked`, or a classification that blames the message, is a soft bounce."""
    if str(bounce_type or "bounce").lower() == "blocked":
        return False
    return str(classification or "").lower() not in SOFT_CLASSIFICATIONS


def drop_suppression(reason: str | None) -> str | None:
    text = (reason or "").lower()
    return next((why for words, why in DROP_REASONS if words in text), None)


def _among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL one array parameter (`= ANY`) instead of one
    placeholder per value, which is most of the cost of a 1000-id statement."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def claim(session: Session, event_ids: Sequence[int] | None, limit: int = 1000) -> list[EventRow]:
    """Take pending events (those given, or the oldest), mark them processed, return them."""
    p = PENDING.c
    pending = select(p.event_id)
    if event_ids is not None:
        pending = pending.where(_among(session, p.event_id, event_ids))
    # SKIP LOCKED (PostgreSQL): two workers claiming the same events split them instead
    # of waiting on each other; SQLite's single writer serialises the DELETE anyway.
    pending = pending.order_by(p.event_id).limit(limit).with_for_update(skip_locked=True)
    # Core on the session's connection: these rows are read once, ORM loading is overhead.
    connection = session.connection()
    claimed = connection.execute(
        delete(PENDING).where(p.event_id.in_(pending.scalar_subquery())).returning(p.event_id)
    ).scalars()
    ids = list(claimed)
    if not ids:
        return []
    ev = EVENTS.c
    rows = connection.execute(
        update(EVENTS)
        .where(_among(session, ev.id, ids))
        .values(processed_at=utcnow())
        .returning(
            ev.id,
            ev.provider_event_id,
            ev.type,
            ev.email_hash,
            ev.delivery_id,
            ev.reason,
            ev.occurred_at,
        )
    ).all()
    return sorted(rows, key=lambda r: (r.occurred_at, r.id))


def apply_events(
    session: Session, rules: Rules, event_ids: Sequence[int] | None = None, limit: int = 1000
) -> Applied:
    """Claim and apply up to `limit` pending events (those given, or the oldest)."""
    events = claim(session, event_ids, limit)
    result = Applied(processed=len(events))
    if not events:
        return result
    deliveries = _deliveries(session, {e.delivery_id for e in events if e.delivery_id})
    known_people = _known_people(
        session,
        {e.email_hash for e in events if not _matches(deliveries.get(e.delivery_id), e)},
    )
    proof: set[int] = set()
    delivered: set[int] = set()
    opened: set[int] = set()
    clicked: set[int] = set()
    rare = []
    for event in events:
        delivery = deliveries.get(event.delivery_id) if event.delivery_id else None
        if delivery is not None and delivery.email_hash != event.email_hash:
            result.ignore(event, f"delivery {event.delivery_id} belongs to another address")
            delivery = None
        if delivery is None and event.email_hash not in known_people:
            result.ignore(event, "unknown address and delivery")
            continue
        if delivery is not None:
            proof.add(delivery.id)
        if event.type in RARE_TYPES:
            rare.append((event, delivery))
        elif delivery is None:
            result.ignore(event, "no known delivery id")
        elif event.type == "delivered":
            delivered.add(delivery.id)
        elif event.type == "open":
            opened.add(delivery.id)
        elif event.type == "click":
            clicked.add(delivery.id)
    result.confirmed = _confirm(session, proof)
    _count_engagement(session, delivered, opened, clicked)
    _reset_soft_bounces(session, {deliveries[d].email_hash for d in delivered})
    if rare:
        context = _RareContext.load(session, [event for event, _ in rare], delivered)
        for event, delivery in rare:
            _apply_rare(session, rules, context, event, delivery, result)
    return result


@dataclass
class _RareContext:
    """Loaded once per batch, so each rare event costs its writes and not its reads too."""

    people: dict[str, list[Subscriber]]
    bounce_payloads: dict[int, dict[str, Any]]
    delivered: set[int]  # deliveries whose `delivered` event came in this same batch

    @classmethod
    def load(cls, session: Session, events: list[EventRow], delivered: set[int]) -> _RareContext:
        hashes = {e.email_hash for e in events}
        people: dict[str, list[Subscriber]] = {}
        for person in session.scalars(
            select(Subscriber).where(_among(session, Subscriber.email_hash, hashes))
        ):
            people.setdefault(person.email_hash, []).append(person)
        # Into the identity map: suppress() then finds an existing suppression without a query.
        session.scalars(
            select(Suppression).where(_among(session, Suppression.email_hash, hashes))
        ).all()
        bounces = [e.id for e in events if e.type == "bounce"]
        payloads = (
            session.execute(
                select(Event.id, Event.payload).where(_among(session, Event.id, bounces))
            ).all()
            if bounces
            else []
        )
        return cls(people, {event_id: p or {} for event_id, p in payloads}, delivered)


def _deliveries(session: Session, ids: set[int]) -> dict[int, EventRow]:
    if not ids:
        return {}
    d = DELIVERIES.c
    rows = (
        session.connection()
        .execute(select(d.id, d.email_hash, d.delivered_at).where(_among(session, d.id, ids)))
        .all()
    )
    return {row.id: cast(EventRow, row) for row in rows}


def _matches(delivery: EventRow | None, event: EventRow) -> bool:
    return delivery is not None and delivery.email_hash == event.email_hash


def _known_people(session: Session, hashes: set[str]) -> set[str]:
    """Addresses with a subscriber row, asked only for events that name no delivery of ours."""
    if not hashes:
        return set()
    return set(
        session.scalars(
            select(Subscriber.email_hash).where(_among(session, Subscriber.email_hash, hashes))
        )
    )


def _first_event(kind: str | None = None) -> ScalarSelect[Any]:
    """When the first stored event (of a kind) for the row's delivery happened.

    A correlated subquery, so one UPDATE sets each row its own time: no per-row
    statements, and the same SQL on SQLite and PostgreSQL.
    """
    query = select(func.min(EVENTS.c.occurred_at)).where(EVENTS.c.delivery_id == DELIVERIES.c.id)
    if kind is not None:
        query = query.where(EVENTS.c.type == kind)
    return query.scalar_subquery()


def _confirm(session: Session, proof: set[int]) -> int:
    """An event for an uncertain (or re-queued, not yet re-sent) delivery proves it was sent."""
    if not proof:
        return 0
    d = DELIVERIES.c
    confirmed = session.connection().execute(
        update(DELIVERIES)
        .where(
            _among(session, d.id, proof),
            or_(
                d.status == DeliveryStatus.uncertain,
                and_(d.status == DeliveryStatus.queued, d.reconciliation == "resent"),
            ),
        )
        .values(
            status=DeliveryStatus.sent,
            reconciliation="confirmed",
            sent_at=func.coalesce(d.sent_at, _first_event()),
        )
        .returning(d.id)
    )
    return len(confirmed.all())


def _count_engagement(
    session: Session, delivered: set[int], opened: set[int], clicked: set[int]
) -> None:
    d = DELIVERIES.c
    if delivered:
        session.connection().execute(
            update(DELIVERIES)
            .where(_among(session, d.id, delivered), d.delivered_at.is_(None))
            .values(delivered_at=_first_event("delivered"))
        )
    for ids, column in ((opened, d.opened), (clicked, d.clicked)):
        if ids:
            session.connection().execute(
                update(DELIVERIES)
                .where(_among(session, d.id, ids), column.is_(False))
                .values({column: True})
            )


def _reset_soft_bounces(session: Session, hashes: set[str]) -> None:
    """Soft bounces count in a row: a message that arrives proves the mailbox works."""
    if hashes:
        session.execute(
            update(Subscriber)
            .where(_among(session, Subscriber.email_hash, hashes), Subscriber.soft_bounces > 0)
            .values(soft_bounces=0)
            .execution_options(synchronize_session=False)
        )


def _apply_rare(
    session: Session,
    rules: Rules,
    context: _RareContext,
    event: EventRow,
    delivery: EventRow | None,
    result: Applied,
) -> None:
    kind = event.type
    if kind in SUPPRESSING:
        _suppress(session, context, event.email_hash, SUPPRESSING[kind], result)
    elif kind == "bounce":
        payload = context.bounce_payloads.get(event.id, {})
        if is_hard_bounce(payload.get("type"), payload.get("bounce_classification")):
            _suppress(session, context, event.email_hash, "bounced", result)
        else:
            _soft_bounce(session, rules, context, event.email_hash, result)
    elif kind == "dropped":
        why = drop_suppression(event.reason)
        if why is None:
            result.ignore(event, "dropped for a reason that does not concern the address")
        else:
            _suppress(session, context, event.email_hash, why, result)
    elif kind == "deferred":
        arrived = delivery is not None and (
            delivery.delivered_at is not None or delivery.id in context.delivered
        )
        if arrived or (delivery is not None and _deferred_before(session, event)):
            return  # SendGrid keeps retrying: one deferred message is one soft failure
        _soft_bounce(session, rules, context, event.email_hash, result)
    else:  # group_resubscribe
        result.ignore(event, "resubscribing happens only through our own double opt-in")


def _deferred_before(session: Session, event: EventRow) -> bool:
    earlier = exists().where(
        Event.delivery_id == event.delivery_id, Event.type == "deferred", Event.id < event.id
    )
    return bool(session.scalar(select(earlier)))


def _soft_bounce(
    session: Session, rules: Rules, context: _RareContext, ehash: str, result: Applied
) -> None:
    counts = session.scalars(
        update(Subscriber)
        .where(Subscriber.email_hash == ehash)
        .values(soft_bounces=Subscriber.soft_bounces + 1)
        .returning(Subscriber.soft_bounces)
    ).all()
    if counts and max(counts) >= rules.soft_bounce_limit:
        _suppress(session, context, ehash, "bounced", result)


def _suppress(
    session: Session, context: _RareContext, ehash: str, reason: str, result: Applied
) -> None:
    people = context.people.get(ehash, [])
    was_mailable = {
        p.id for p in people if p.status in (SubscriberStatus.pending, SubscriberStatus.confirmed)
    }
    suppress(session, ehash, reason)
    result.suppressed += 1
    result.unsubscribed.extend(
        p.id for p in people if p.id in was_mailable and p.status is SubscriberStatus.unsubscribed
    )


def pending_ids(session: Session, limit: int = 1000) -> list[int]:
    """The oldest events not yet applied."""
    p = PENDING.c
    return list(session.scalars(select(p.event_id).order_by(p.event_id).limit(limit)))


def set_aside(session: Session, event_id: int) -> None:
    """Mark an event that cannot be applied as processed, so it stops blocking the others.

    It stays stored, with its payload, for whoever reads the logged error.
    """
    connection = session.connection()
    taken = connection.execute(delete(PENDING).where(PENDING.c.event_id == event_id)).rowcount
    if taken:
        connection.execute(
            update(EVENTS).where(EVENTS.c.id == event_id).values(processed_at=utcnow())
        )
