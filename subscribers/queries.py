"""Read-side helpers for admins: subscribers page by page, with their lists."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Subscriber, SubscriberStatus, Subscription


@dataclass(frozen=True)
class SubscriberSummary:
    id: int
    email: str
    name: str | None
    status: str
    lists: list[str]
    cadence: str
    timezone: str | None
    country: str | None
    created_at: str
    confirmed_at: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def page(
    session: Session,
    *,
    after_id: int = 0,
    limit: int = 100,
    status: SubscriberStatus | None = None,
    list_slug: str | None = None,
) -> list[SubscriberSummary]:
    """Subscribers with id > after_id, oldest first (keyset paging, never OFFSET)."""
    query = select(Subscriber).where(Subscriber.id > after_id)
    if status is not None:
        query = query.where(Subscriber.status == status)
    if list_slug is not None:
        query = query.where(
            Subscriber.id.in_(
                select(Subscription.subscriber_id).where(Subscription.list_slug == list_slug)
            )
        )
    people = session.scalars(query.order_by(Subscriber.id).limit(limit)).all()
    lists: dict[int, list[str]] = {}
    if people:
        for sid, slug in session.execute(
            select(Subscription.subscriber_id, Subscription.list_slug)
            .where(Subscription.subscriber_id.in_([p.id for p in people]))
            .order_by(Subscription.list_slug)
        ):
            lists.setdefault(sid, []).append(slug)
    return [summary(p, lists.get(p.id, [])) for p in people]


def summary(person: Subscriber, lists: list[str]) -> SubscriberSummary:
    return SubscriberSummary(
        id=person.id,
        email=person.email,
        name=person.name,
        status=person.status.value,
        lists=lists,
        cadence=person.cadence,
        timezone=person.timezone,
        country=person.country,
        created_at=person.created_at.isoformat(),
        confirmed_at=person.confirmed_at.isoformat() if person.confirmed_at else None,
    )


def lists_of(session: Session, subscriber_id: int) -> list[str]:
    return sorted(
        session.scalars(
            select(Subscription.list_slug).where(Subscription.subscriber_id == subscriber_id)
        )
    )
