"""Read-side helpers for admins: subscribers page by page with their lists, search,
counts for the dashboard and everything about one person.

Every read here stays fast at a million subscribers: keyset paging (never
OFFSET), prefix search through an index, and estimated counts from
PostgreSQL's statistics where exact ones would scan the table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import Select, func, select, text, union
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from db.models import (
    Campaign,
    Consent,
    Delivery,
    Event,
    Subscriber,
    SubscriberStatus,
    Subscription,
    Suppression,
)


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
    query = _narrowed(select(Subscriber).where(Subscriber.id > after_id), status, list_slug)
    people = session.scalars(query.order_by(Subscriber.id).limit(limit)).all()
    return _with_lists(session, people)


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


# -- the web admin's reads (web/dashboard/) ---------------------------------------

# Past this many rows PostgreSQL's planner statistics stand in for exact counts:
# counting a million rows by status takes longer than an admin page may.
ESTIMATE_ABOVE = 200_000


@dataclass(frozen=True)
class StatusCounts:
    counts: dict[str, int]
    estimated: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def status_counts(session: Session) -> StatusCounts:
    """Subscribers per status: exact, or from PostgreSQL's statistics on a large table."""
    if session.get_bind().dialect.name == "postgresql":
        estimate = _estimated_status_counts(session)
        if estimate is not None:
            return estimate
    exact = dict(
        session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()
    )
    return StatusCounts({s.value: int(exact.get(s, 0)) for s in SubscriberStatus}, False)


def _estimated_status_counts(session: Session) -> StatusCounts | None:
    rows = session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'subscribers'::regclass")
    ).scalar()
    if rows is None or rows < ESTIMATE_ABOVE:
        return None
    stats = session.execute(
        text(
            "SELECT most_common_vals::text::text[], most_common_freqs FROM pg_stats "
            "WHERE tablename = 'subscribers' AND attname = 'status' "
            "AND schemaname = current_schema()"
        )
    ).first()
    if stats is None or stats[0] is None:
        return None
    share = dict(zip(stats[0], stats[1], strict=True))
    counts = {}
    for status in SubscriberStatus:
        if status.value in share:
            counts[status.value] = round(float(rows) * float(share[status.value]))
        else:
            # Not among the common values, so rare: counting it exactly is a short index scan.
            counts[status.value] = int(
                session.scalar(select(func.count()).where(Subscriber.status == status)) or 0
            )
    return StatusCounts(counts, True)


def signups_per_day(
    session: Session, since: dt.datetime, now: dt.datetime
) -> list[tuple[dt.date, int]]:
    """New subscribers per UTC day from `since` to `now`, every day present (zeros too).

    Grouped in the database (an index-only range scan of ix_subscribers_created_at
    on PostgreSQL): a month of a large list is tens of thousands of rows.
    """
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", Subscriber.created_at))
    else:
        day = func.date(Subscriber.created_at)  # SQLite keeps UTC text, date() reads it
    counted = {
        (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))): int(n)
        for d, n in session.execute(
            select(day, func.count()).where(Subscriber.created_at >= since).group_by(day)
        )
    }
    first, last = since.astimezone(dt.UTC).date(), now.astimezone(dt.UTC).date()
    return [
        (first + dt.timedelta(days=i), counted.get(first + dt.timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


def search(
    session: Session,
    *,
    query: str = "",
    status: SubscriberStatus | None = None,
    list_slug: str | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> list[SubscriberSummary]:
    """Subscribers whose address or name starts with `query` (case-insensitive),
    filtered by status and list, by id after `after_id` (keyset paging).

    Prefix, not substring: a prefix is an index range at a million rows, a
    substring is a scan of the table.
    """
    prefix = query.strip().lower()
    if not prefix:
        return page(session, after_id=after_id, limit=limit, status=status, list_slug=list_slug)
    dialect = session.get_bind().dialect.name
    email_match: ColumnElement[bool]
    name_match: ColumnElement[bool]
    if dialect == "postgresql":
        pattern = _like_escape(prefix) + "%"
        email_match = func.lower(Subscriber.email).like(pattern, escape="\\")
        name_match = func.lower(Subscriber.name).like(pattern, escape="\\")
    else:
        # SQLite's LIKE cannot use an index here; a range on the binary-ordered columns can.
        upper = prefix + "\U0010ffff"
        email_match = (Subscriber.email >= prefix) & (Subscriber.email < upper)
        name_match = (func.lower(Subscriber.name) >= prefix) & (func.lower(Subscriber.name) < upper)
    ids = union(
        select(Subscriber.id).where(email_match, Subscriber.id > after_id),
        select(Subscriber.id).where(name_match, Subscriber.id > after_id),
    ).subquery()
    found = _narrowed(
        select(Subscriber).where(Subscriber.id.in_(select(ids.c.id))), status, list_slug
    )
    people = session.scalars(found.order_by(Subscriber.id).limit(limit)).all()
    return _with_lists(session, people)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _narrowed(
    query: Select[Subscriber], status: SubscriberStatus | None, list_slug: str | None
) -> Select[Subscriber]:
    """The admin listings' filters: one status, one list (either may be absent)."""
    if status is not None:
        query = query.where(Subscriber.status == status)
    if list_slug is not None:
        query = query.where(
            Subscriber.id.in_(
                select(Subscription.subscriber_id).where(Subscription.list_slug == list_slug)
            )
        )
    return query


def _with_lists(session: Session, people: Sequence[Subscriber]) -> list[SubscriberSummary]:
    lists: dict[int, list[str]] = {}
    if people:
        for sid, slug in session.execute(
            select(Subscription.subscriber_id, Subscription.list_slug)
            .where(Subscription.subscriber_id.in_([p.id for p in people]))
            .order_by(Subscription.list_slug)
        ):
            lists.setdefault(sid, []).append(slug)
    return [summary(p, lists.get(p.id, [])) for p in people]


@dataclass(frozen=True)
class PersonRecord:
    """Everything the admin's person page shows about one subscriber."""

    subscriber: SubscriberSummary
    consents: list[Consent]
    deliveries: list[Delivery]
    events: list[Event]
    suppression: Suppression | None


def person(session: Session, subscriber_id: int, *, limit: int = 50) -> PersonRecord | None:
    """A subscriber with lists, consent records, recent deliveries and events, suppression."""
    found = session.get(Subscriber, subscriber_id)
    if found is None:
        return None
    consents = session.scalars(
        select(Consent).where(Consent.subscriber_id == found.id).order_by(Consent.id.desc())
    ).all()
    # The ledger has no index of subscriber_id alone: naming every campaign lets the
    # (campaign, subscriber) unique index answer, one probe per campaign (as erasure does).
    deliveries = session.scalars(
        select(Delivery)
        .where(Delivery.campaign_id.in_(select(Campaign.id)), Delivery.subscriber_id == found.id)
        .order_by(Delivery.campaign_id.desc())
        .limit(limit)
    ).all()
    events = session.scalars(
        select(Event)
        .where(Event.email_hash == found.email_hash)
        .order_by(Event.occurred_at.desc())
        .limit(limit)
    ).all()
    return PersonRecord(
        subscriber=summary(found, lists_of(session, found.id)),
        consents=list(consents),
        deliveries=list(deliveries),
        events=list(events),
        suppression=session.get(Suppression, found.email_hash),
    )
