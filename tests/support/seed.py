"""Bulk test data: many subscribers in one statement, for sends and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert

from db.engine import Database
from db.models import Subscriber, SubscriberStatus, Subscription, utcnow
from subscribers.addresses import email_hash


def seed_subscribers(
    db: Database,
    count: int,
    lists: Sequence[str] = ("videos",),
    *,
    start: int = 0,
    status: SubscriberStatus = SubscriberStatus.confirmed,
    timezone: str | None = None,
    chunk: int = 5000,
) -> list[int]:
    """`count` subscribers reader{n}@example.org on `lists`; returns their ids."""
    now = utcnow()
    ids: list[int] = []
    for first in range(start, start + count, chunk):
        numbers = range(first, min(first + chunk, start + count))
        with db.session() as session:
            rows = [
                {
                    "email": f"reader{n}@example.org",
                    "email_hash": email_hash(f"reader{n}@example.org"),
                    "status": status,
                    "cadence": "instant",
                    "timezone": timezone,
                    "created_at": now,
                    "soft_bounces": 0,
                }
                for n in numbers
            ]
            new = list(session.scalars(insert(Subscriber).returning(Subscriber.id), rows))
            session.execute(
                insert(Subscription),
                [
                    {"subscriber_id": i, "list_slug": slug, "created_at": now}
                    for i in new
                    for slug in lists
                ],
            )
            ids.extend(new)
    return ids


def seed_addresses(
    db: Database, people: Sequence[tuple[str, str | None]], lists: Sequence[str] = ("videos",)
) -> list[int]:
    """Confirmed subscribers with these (address, name) pairs, written as they are.

    No validation on the way in: rows as older versions let them in (a non-ASCII
    local part, a quoted one, a name with a line break), for the send path to face.
    """
    now = utcnow()
    with db.session() as session:
        rows = [
            {
                "email": address,
                "email_hash": email_hash(address),
                "name": name,
                "status": SubscriberStatus.confirmed,
                "cadence": "instant",
                "created_at": now,
                "soft_bounces": 0,
            }
            for address, name in people
        ]
        ids = list(session.scalars(insert(Subscriber).returning(Subscriber.id), rows))
        session.execute(
            insert(Subscription),
            [{"subscriber_id": i, "list_slug": s, "created_at": now} for i in ids for s in lists],
        )
    return ids
