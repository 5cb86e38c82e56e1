"""The delivery ledger: the audience is walked by id into rows, rows are claimed, then sent.

Exactly-once rests on three facts: a row is unique per (campaign, subscriber);
a row is claimed (its `claimed_at` set) in one UPDATE before the provider
call, so two workers can never both own it; and a row whose call may have
happened is marked `uncertain`, never silently re-sent.

The fan-out writes a row already in `sending`, with no claim time: "handed to
a batch task, not yet taken by a worker". The claim then only sets the claim
time, batch key and attempt count, none of which is indexed, so PostgreSQL
updates the row in place (a HOT update, no index entries written; the table
keeps free room on each page for it). Changing `status` at the claim, as a
`queued` row would need, writes a new entry into every index of the ledger.
`counts_by_status` reports such a row as `queued`, as does everything else
outside this module. `queued` as stored is a row that waits for something
else: its local send time, or a new task after a release or a reconciliation.

The statements a send runs for every batch go straight to the session's Core
connection: the ORM layer adds only cost to a bulk INSERT ... SELECT or an
UPDATE ... RETURNING of ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Insert,
    and_,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.ids import among
from db.models import (
    Campaign,
    Delivery,
    DeliveryRollup,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    Suppression,
    utcnow,
)
from delivery.sender import MAX_BATCH

# Rows written per fan-out step: ten send batches. The fan-out is the one serial
# part of a send, so it does few, large statements; each step commits, so a
# crash loses at most one step, which the next run re-finds.
FANOUT_SLICE = 10 * MAX_BATCH


def _in_audience(
    lists: Sequence[str], after: int = 0, last: int | None = None
) -> list[ColumnElement[bool]]:
    """Confirmed, unsuppressed subscribers of any of the lists, with ids in (after, last].

    The id bounds are repeated on the membership table: without them PostgreSQL
    hashed every membership of the lists for each slice (a full scan per slice);
    with them it reads one range of the (list, subscriber) index.
    """
    in_range = [Subscription.subscriber_id > after]
    if last is not None:
        in_range.append(Subscription.subscriber_id <= last)
    member = exists().where(
        Subscription.subscriber_id == Subscriber.id,
        Subscription.list_slug.in_(list(lists)),
        *in_range,
    )
    suppressed = exists().where(Suppression.email_hash == Subscriber.email_hash)
    return [
        Subscriber.id > after,
        *([Subscriber.id <= last] if last is not None else []),
        Subscriber.status == SubscriberStatus.confirmed,
        member,
        ~suppressed,
    ]


def audience_in(
    session: Session, lists: Sequence[str], after_id: int, last_id: int
) -> Sequence[tuple[int, str, str | None]]:
    """Confirmed, unsuppressed subscribers of any of the lists with ids in (after, last], by id."""
    query = (
        select(Subscriber.id, Subscriber.email_hash, Subscriber.timezone)
        .where(*_in_audience(lists, after_id, last_id))
        .order_by(Subscriber.id)
    )
    return [(sub_id, ehash, tz) for sub_id, ehash, tz in session.execute(query)]


def next_range(
    session: Session, lists: Sequence[str], after: int, span: int
) -> tuple[int, int] | None:
    """The next stretch of subscriber ids to walk: `span` ids from the first member of the
    lists after `after`, as (exclusive start, inclusive end); None when no member is left.

    One `min()` per list, each the first entry of a range of the (list, subscriber)
    index, whatever the table's statistics say: a sparse list among many
    subscribers does not cost a run of empty slices.
    """
    firsts = [
        select(func.min(Subscription.subscriber_id))
        .where(Subscription.list_slug == slug, Subscription.subscriber_id > after)
        .scalar_subquery()
        for slug in dict.fromkeys(lists)
    ]
    if not firsts:
        return None
    row = session.connection().execute(select(*firsts)).one()
    found = [int(x) for x in row if x is not None]
    if not found:
        return None
    start = min(found) - 1
    return start, start + span


def queue_next_slice(
    session: Session,
    campaign: Campaign,
    site_tz: dt.tzinfo,
    now: dt.datetime | None = None,
    limit: int = FANOUT_SLICE,
) -> list[int]:
    """Write ledger rows for the audience in the next `limit` subscriber ids; returns the
    ids of the rows written that are due now, in order.

    The walk is by id range, not by count: every statement names its range of
    subscriber ids (`id > a AND id <= b`), so the planner reads one stretch of
    the primary key and the (list, subscriber) index however stale or missing
    its statistics are. (Walked by "the next N audience members, ORDER BY id
    LIMIT N", a table that was never analysed was planned as a bitmap scan of
    the status index, i.e. every confirmed subscriber, and a sort, for each
    slice.) A range with few members writes few rows; that only makes its
    slice cheap.

    The rows' ids come back from the INSERT itself (RETURNING), so no statement
    looks the slice up again. The campaign's cursor moves in the same
    transaction as the rows, so a re-run after a crash starts after the last
    committed slice; should rows of a range already exist anyway, the INSERT
    skips them (ON CONFLICT DO NOTHING) and does not return them, and they are
    sent by the re-enqueueing of unclaimed rows that every run of
    `send_campaign` (resume, the sweeper's rescue) does first.
    With a per-subscriber local send time, a row whose moment has not come
    gets `not_before` and is left for `dispatch_due`.
    """
    now = now or utcnow()
    walk = next_range(session, campaign.list_slugs, campaign.fanout_cursor, limit)
    if walk is None:
        campaign.fanout_done = True
        session.flush()
        return []
    after, last = walk
    if campaign.local_send_time:
        due = _queue_with_local_times(session, campaign, site_tz, now, after, last)
    else:
        due = _queue_in_sql(session, campaign, now, after, last)
    campaign.fanout_cursor = last
    session.flush()
    return sorted(due)


def unclaimed() -> ColumnElement[bool]:
    """Rows no worker holds: handed to a batch and not claimed, or stored `queued`."""
    handed_over = and_(Delivery.status == DeliveryStatus.sending, Delivery.claimed_at.is_(None))
    return or_(Delivery.status == DeliveryStatus.queued, handed_over)


def _queue_in_sql(
    session: Session, campaign: Campaign, now: dt.datetime, after: int, last: int
) -> list[int]:
    """Every row due now: one INSERT ... SELECT ... RETURNING over the id range (after, last];
    no subscriber passes through Python. Returns the new rows' ids."""
    columns = Delivery.__table__.c
    rows = select(
        literal(campaign.id),
        Subscriber.id,
        Subscriber.email_hash,
        literal(DeliveryStatus.sending, columns.status.type),  # handed over, not claimed
        literal(now, columns.queued_at.type),
        literal(0),
        literal([], columns.disclaimers.type),
        false(),
        false(),
    ).where(*_in_audience(campaign.list_slugs, after, last))
    names = ["campaign_id", "subscriber_id", "email_hash", "status", "queued_at", "attempts"]
    statement = (
        _insert_ignoring_duplicates(session)
        .from_select([*names, "disclaimers", "opened", "clicked"], rows)
        .returning(Delivery.id)
    )
    return list(session.connection().scalars(statement).all())


def _queue_with_local_times(
    session: Session,
    campaign: Campaign,
    site_tz: dt.tzinfo,
    now: dt.datetime,
    after: int,
    last: int,
) -> list[int]:
    """Rows with each subscriber's moment computed in Python (their time zone); a row
    whose moment has not come gets `not_before`. Returns the ids of new rows due now."""
    audience = audience_in(session, campaign.list_slugs, after, last)
    if not audience:
        return []
    assert campaign.local_send_time is not None
    start = campaign.send_at or campaign.started_at or now
    zones = _ZoneCache(site_tz)
    rows = []
    for sub_id, ehash, tz_name in audience:
        moment = next_local_time(campaign.local_send_time, zones.get(tz_name), start)
        rows.append(
            {
                "campaign_id": campaign.id,
                "subscriber_id": sub_id,
                "email_hash": ehash,
                "status": DeliveryStatus.queued,
                "queued_at": now,
                "not_before": moment if moment > now else None,
                "attempts": 0,
                "disclaimers": [],
                "opened": False,
                "clicked": False,
            }
        )
    written = session.connection().execute(
        _insert_ignoring_duplicates(session).returning(Delivery.id, Delivery.not_before), rows
    )
    return [row_id for row_id, not_before in written.all() if not_before is None]


def next_local_time(hhmm: str, tz: dt.tzinfo, start: dt.datetime) -> dt.datetime:
    """The first HH:MM wall-clock time in `tz` at or after `start`, in UTC."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = start.astimezone(tz)
    day = local.date()
    for _ in range(3):  # today, or tomorrow (a DST gap can skip one wall-clock time)
        candidate = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
        if candidate >= local:
            return candidate.astimezone(dt.UTC)
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


def parse_local_time(value: str) -> str:
    """Validate HH:MM (24-hour); returns it normalised, e.g. '9:00' -> '09:00'."""
    try:
        parsed = dt.datetime.strptime(value.strip(), "%H:%M")
    except ValueError:
        raise ValueError(f"local time {value!r} must be HH:MM, e.g. 09:00") from None
    return parsed.strftime("%H:%M")


class _ZoneCache:
    """Subscriber time zones, looked up once per batch; unknown names fall back to the site's."""

    def __init__(self, fallback: dt.tzinfo) -> None:
        self.fallback = fallback
        self._zones: dict[str, dt.tzinfo] = {}

    def get(self, name: str | None) -> dt.tzinfo:
        if not name:
            return self.fallback
        if name not in self._zones:
            try:
                self._zones[name] = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                self._zones[name] = self.fallback
        return self._zones[name]


def _insert_ignoring_duplicates(session: Session) -> Insert:
    """INSERT that skips rows already in the ledger: re-running a slice after a crash is safe."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Delivery).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(Delivery).on_conflict_do_nothing()
    return insert(Delivery)


def claim(session: Session, delivery_ids: Sequence[int], batch_key: str) -> list[int]:
    """Take unclaimed rows (handed-over or due queued ones) under one batch key, in `sending`;
    returns the ids this caller owns.

    One UPDATE ... RETURNING (PostgreSQL, SQLite 3.35+): rows another worker
    claimed first are simply not returned. A handed-over row keeps its status,
    so its update is in place (see the module's docstring).
    """
    now = utcnow()
    claimed = (
        session.connection()
        .scalars(
            update(Delivery)
            .where(
                among(session, Delivery.id, delivery_ids),
                unclaimed(),  # a handed-over row never has `not_before`
                or_(Delivery.not_before.is_(None), Delivery.not_before <= now),
            )
            .values(
                status=DeliveryStatus.sending,
                batch_key=batch_key,
                claimed_at=now,
                attempts=Delivery.attempts + 1,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        .all()
    )
    return sorted(claimed)


def mark(
    session: Session,
    delivery_ids: Sequence[int],
    status: DeliveryStatus,
    *,
    error: str | None = None,
    message_id: str | None = None,
    sent_at: dt.datetime | None = None,
    columns: dict[str, object] | None = None,
) -> None:
    """Record an outcome; `columns` adds other Delivery columns (e.g. the edition variant)."""
    if not delivery_ids:
        return
    values: dict[str, object] = {"status": status, "error": error, **(columns or {})}
    if message_id is not None:
        values["provider_message_id"] = message_id
    if sent_at is not None:
        values["sent_at"] = sent_at
    # No session synchronisation: nothing here holds Delivery objects, and "fetch"
    # (what the ORM falls back to for `= ANY`) would build an identity key per row.
    session.connection().execute(
        update(Delivery)
        .where(among(session, Delivery.id, delivery_ids))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, delivery_ids: Sequence[int]) -> None:
    """Give claimed rows back to the queue: the provider certainly did not take them."""
    session.execute(
        update(Delivery)
        .where(among(session, Delivery.id, delivery_ids), Delivery.status == DeliveryStatus.sending)
        .values(status=DeliveryStatus.queued, batch_key=None, queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def queued_ids_after(
    session: Session, campaign_id: int, after_id: int, limit: int = MAX_BATCH
) -> list[int]:
    """Unclaimed rows that are due, by id: what a resumed or rescued campaign re-enqueues."""
    return list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.campaign_id == campaign_id,
                unclaimed(),
                Delivery.not_before.is_(None),
                Delivery.id > after_id,
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )


def dispatch_due(
    session: Session, campaign_id: int, now: dt.datetime, limit: int = MAX_BATCH
) -> list[int]:
    """Waiting rows whose local send time has come: clear `not_before`, return their ids."""
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.status == DeliveryStatus.queued,
                Delivery.not_before <= now,
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids)).values(not_before=None, queued_at=now)
        )
    return ids


def skip_queued(
    session: Session, campaign_id: int, reason: str, after_id: int = 0
) -> tuple[int | None, int]:
    """Skip the next (up to) 1000 unclaimed rows of a cancelled campaign after `after_id`.

    Returns (the last id looked at, or None when there were none; rows skipped).
    Rows are chosen and updated in id order, the lock order of a worker's
    claim, so a cancel racing a claim on PostgreSQL waits instead of
    deadlocking; rows that claim took first are simply not skipped.
    """
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(Delivery.campaign_id == campaign_id, unclaimed(), Delivery.id > after_id)
            .order_by(Delivery.id)
            .limit(MAX_BATCH)
        )
    )
    if not ids:
        return None, 0
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), unclaimed())
        .values(status=DeliveryStatus.skipped, error=reason, not_before=None)
        .execution_options(synchronize_session=False)
    )
    return ids[-1], int(result.rowcount or 0)  # type: ignore[attr-defined]


def mark_lost(session: Session, claimed_before: dt.datetime) -> int:
    """Rows stuck in `sending` (their worker died mid-call) may or may not have gone out."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.sending, Delivery.claimed_at < claimed_before)
        .values(status=DeliveryStatus.uncertain, error="worker lost during the provider call")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def has_unfinished(session: Session, campaign_id: int) -> bool:
    """Any row still queued or sending (uses the (campaign, status) index)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Delivery.campaign_id == campaign_id,
                    Delivery.status.in_([DeliveryStatus.queued, DeliveryStatus.sending]),
                )
            )
        )
    )


def last_activity(session: Session, campaign_id: int) -> dt.datetime | None:
    """The latest time a row of the campaign was queued or claimed."""
    queued, claimed = session.execute(
        select(func.max(Delivery.queued_at), func.max(Delivery.claimed_at)).where(
            Delivery.campaign_id == campaign_id
        )
    ).one()
    times = [t for t in (queued, claimed) if t is not None]
    if not times:
        return None
    # Aggregates bypass the UTC column type on SQLite: normalise here.
    return max(as_utc(t) for t in times)


def as_utc(value: dt.datetime | str) -> dt.datetime:
    """An aggregate's result as an aware UTC datetime (SQLite returns text or naive values)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def counts_by_status(session: Session, campaign_id: int) -> dict[str, int]:
    """Rows per status, a handed-over row that no worker has claimed counting as `queued`;
    rows that retention replaced by counts (delivery/retention.py) count as they were."""
    unclaimed = Delivery.claimed_at.is_(None)
    rows = session.execute(
        select(Delivery.status, unclaimed, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status, unclaimed)
    ).all()
    counts = {s.value: 0 for s in DeliveryStatus}
    for status, not_claimed, n in rows:
        handed_over = status is DeliveryStatus.sending and not_claimed
        counts[(DeliveryStatus.queued if handed_over else status).value] += n
    for status, n in session.execute(
        select(DeliveryRollup.status, func.sum(DeliveryRollup.deliveries))
        .where(DeliveryRollup.campaign_id == campaign_id)
        .group_by(DeliveryRollup.status)
    ):
        counts[DeliveryStatus(status).value] += int(n)
    return counts


def waiting_count(session: Session, campaign_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                Delivery.campaign_id == campaign_id,
                Delivery.status == DeliveryStatus.queued,
                Delivery.not_before.is_not(None),
            )
        )
        or 0
    )
