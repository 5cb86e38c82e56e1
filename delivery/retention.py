"""Ledger retention: a finished campaign's per-delivery rows become counts after N days.

The ledger holds one row per (campaign, subscriber): a list of 1,000,000 mailed
three times a week adds 156 million rows a year, and every index, vacuum and
report pays for them. Per-delivery rows are needed while something can still
happen to a delivery: its send, reconciliation of an `uncertain` outcome,
events (bounces, complaints: SendGrid retries a webhook for 72 hours, people
report spam weeks later), frequency caps (a sponsor's `cap_days`), erasure.
After `DELIVERY_RETENTION_DAYS` (default 90, at least 30) a campaign's rows
are replaced by `delivery_rollups`: the number of rows per (status, sponsor,
edition variant, day sent, reconciliation outcome), with how many were
delivered, opened and clicked. Progress (`ledger.counts_by_status`), the
campaign report, the sponsor report and a booking's report add these counts
to what rows remain, so they read the same numbers before and after.

A campaign is rolled up whole, once, and only when nothing about it is open:
its status is `sent` or `cancelled` and it finished before the cut-off, no
row is `queued`, `sending` or `uncertain` (an uncertain row waits for
reconciliation however old it is), and no row was queued, claimed or sent
after the cut-off (a re-send by reconciliation restarts the clock). The
counts are written and the rows deleted in one transaction, so a crash
leaves either the rows or the counts, never both or neither.

Rows are deleted, on PostgreSQL as on SQLite; on PostgreSQL their space is
reused after VACUUM (autovacuum, where it runs).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, cast, delete, func, insert, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import Campaign, CampaignStatus, Delivery, DeliveryRollup, DeliveryStatus, utcnow
from delivery.ledger import as_utc

FINISHED = (CampaignStatus.sent, CampaignStatus.cancelled)
OPEN = (DeliveryStatus.queued, DeliveryStatus.sending, DeliveryStatus.uncertain)


def roll_up_expired(db: Database, keep: dt.timedelta, now: dt.datetime | None = None) -> list[int]:
    """Roll up every finished campaign older than `keep` with nothing open; returns their ids."""
    now = now or utcnow()
    cutoff = now - keep
    with db.session() as session:
        candidates = list(
            session.scalars(
                select(Campaign.id)
                .where(
                    Campaign.status.in_(FINISHED),
                    Campaign.finished_at < cutoff,
                    Campaign.ledger_rolled_up_at.is_(None),
                )
                .order_by(Campaign.id)
            )
        )
    return [cid for cid in candidates if roll_up(db, cid, cutoff, now)]


def roll_up(db: Database, campaign_id: int, cutoff: dt.datetime, now: dt.datetime) -> bool:
    """Replace the campaign's rows by counts if it finished before `cutoff` and nothing is open."""
    with db.session() as session:
        campaign = session.scalar(
            select(Campaign).where(Campaign.id == campaign_id).with_for_update()
        )
        if (
            campaign is None
            or campaign.ledger_rolled_up_at is not None
            or campaign.status not in FINISHED
            or campaign.finished_at is None
            or campaign.finished_at >= cutoff
        ):
            return False
        groups = session.execute(_counts(session, campaign_id)).all()
        for row in groups:
            if DeliveryStatus(row.status) in OPEN or as_utc(row.last_activity) >= cutoff:
                return False
        merged: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for row in groups:
            key = (
                DeliveryStatus(row.status),
                row.sponsor_name,
                row.edition_variant,
                _day(row.sent_day),
                row.rec,
            )
            totals = merged[key]
            for i, n in enumerate((row.deliveries, row.delivered, row.opened, row.clicked)):
                totals[i] += int(n or 0)
        if merged:
            session.execute(
                insert(DeliveryRollup),
                [
                    {
                        "campaign_id": campaign_id,
                        "status": status,
                        "sponsor_name": sponsor,
                        "edition_variant": variant,
                        "sent_day": day,
                        "reconciliation": rec,
                        "deliveries": n,
                        "delivered": delivered,
                        "opened": opened,
                        "clicked": clicked,
                    }
                    for (status, sponsor, variant, day, rec), (
                        n,
                        delivered,
                        opened,
                        clicked,
                    ) in sorted(merged.items(), key=lambda item: repr(item[0]))
                ],
            )
        session.execute(
            delete(Delivery)
            .where(Delivery.campaign_id == campaign_id)
            .execution_options(synchronize_session=False)
        )
        campaign.ledger_rolled_up_at = now
        return True


def _counts(session: Session, campaign_id: int) -> Select[Any]:
    """The campaign's rows grouped as a roll-up keeps them, with each group's latest activity."""
    sent_day = _utc_day(session)
    activity = func.coalesce(Delivery.sent_at, Delivery.claimed_at, Delivery.queued_at)
    return (
        select(
            Delivery.status.label("status"),
            Delivery.sponsor_name.label("sponsor_name"),
            Delivery.edition_variant.label("edition_variant"),
            sent_day.label("sent_day"),
            Delivery.reconciliation.label("rec"),
            func.count().label("deliveries"),
            func.count(Delivery.delivered_at).label("delivered"),
            func.count().filter(Delivery.opened).label("opened"),
            func.count().filter(Delivery.clicked).label("clicked"),
            func.max(activity).label("last_activity"),
        )
        .where(Delivery.campaign_id == campaign_id)
        .group_by(
            Delivery.status,
            Delivery.sponsor_name,
            Delivery.edition_variant,
            sent_day,
            Delivery.reconciliation,
        )
    )


def _utc_day(session: Session) -> ColumnElement[Any]:
    """The UTC calendar day of `sent_at` (the sponsor report selects by UTC day)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Delivery.sent_at), Date)
    return func.date(Delivery.sent_at)  # SQLite stores UTC text


def _day(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
