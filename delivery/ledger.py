"""The delivery ledger: the audience is walked by id into rows, rows are claimed, then sent.

Exactly-once rests on three facts: a row is unique per (campaign, subscriber);
a row is claimed (queued -> sending) in one UPDATE before the provider call, so
two workers can never both own it; and a row whose call may have happened is
marked `uncertain`, never silently re-sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import (
    Campaign,
    Delivery,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    Suppression,
    utcnow,
)
from delivery.sender import MAX_BATCH


def audience_after(
    session: Session, lists: Sequence[str], after_id: int, limit: int = MAX_BATCH
) -> Sequence[tuple[int, str]]:
    """Confirmed, unsuppressed subscribers of any of the lists, by id after a cursor."""
    member = exists().where(
        and_(Subscription.subscriber_id == Subscriber.id, Subscription.list_slug.in_(list(lists)))
    )
    suppressed = exists().where(Suppression.email_hash == Subscriber.email_hash)
    query = (
        select(Subscriber.id, Subscriber.email_hash)
        .where(
            Subscriber.id > after_id,
            Subscriber.status == SubscriberStatus.confirmed,
            member,
            ~suppressed,
        )
        .order_by(Subscriber.id)
        .limit(limit)
    )
    return session.execute(query).tuples().all()


def queue_next_batch(session: Session, campaign: Campaign, limit: int = MAX_BATCH) -> list[int]:
    """Write ledger rows for the next slice of the audience; returns their delivery ids.

    Idempotent: a repeated call after a crash re-finds rows already written.
    """
    audience = audience_after(session, campaign.list_slugs, campaign.fanout_cursor, limit)
    if not audience:
        campaign.fanout_done = True
        session.flush()
        return []
    now = utcnow()
    rows = [
        {
            "campaign_id": campaign.id,
            "subscriber_id": sub_id,
            "email_hash": ehash,
            "status": DeliveryStatus.queued,
            "queued_at": now,
            "attempts": 0,
            "disclaimers": [],
            "opened": False,
            "clicked": False,
        }
        for sub_id, ehash in audience
    ]
    session.execute(_insert_ignoring_duplicates(session, rows))
    first, last = audience[0][0], audience[-1][0]
    campaign.fanout_cursor = last
    session.flush()
    return list(
        session.scalars(
            select(Delivery.id).where(
                Delivery.campaign_id == campaign.id,
                Delivery.subscriber_id.between(first, last),
                Delivery.status == DeliveryStatus.queued,
            )
        )
    )


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Delivery).values(rows).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(Delivery).values(rows).on_conflict_do_nothing()
    return insert(Delivery).values(rows)


def claim(session: Session, delivery_ids: Sequence[int], batch_key: str) -> list[int]:
    """Move queued rows to `sending` under one batch key; returns the ids this caller owns."""
    now = utcnow()
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), Delivery.status == DeliveryStatus.queued)
        .values(
            status=DeliveryStatus.sending,
            batch_key=batch_key,
            claimed_at=now,
            attempts=Delivery.attempts + 1,
        )
    )
    session.flush()
    return list(
        session.scalars(
            select(Delivery.id).where(
                Delivery.id.in_(list(delivery_ids)),
                Delivery.batch_key == batch_key,
                Delivery.status == DeliveryStatus.sending,
            )
        )
    )


def mark(
    session: Session,
    delivery_ids: Sequence[int],
    status: DeliveryStatus,
    *,
    error: str | None = None,
    message_id: str | None = None,
    sent_at: dt.datetime | None = None,
) -> None:
    if not delivery_ids:
        return
    values: dict[str, object] = {"status": status, "error": error}
    if message_id is not None:
        values["provider_message_id"] = message_id
    if sent_at is not None:
        values["sent_at"] = sent_at
    session.execute(update(Delivery).where(Delivery.id.in_(list(delivery_ids))).values(**values))


def release(session: Session, delivery_ids: Sequence[int]) -> None:
    """Give claimed rows back to the queue: the provider certainly did not take them."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), Delivery.status == DeliveryStatus.sending)
        .values(status=DeliveryStatus.queued, batch_key=None)
    )


def counts_by_status(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status)
    ).all()
    counts = {s.value: 0 for s in DeliveryStatus}
    counts.update({status.value: n for status, n in rows})
    return counts
