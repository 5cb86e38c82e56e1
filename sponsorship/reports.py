"""What a booking did: per campaign that carried it, impressions, clicks, click rate;
per day for the plot; as CSV. The same numbers for the sponsor and the creator.

Invariants: nothing here reads a subscriber's row or address; impressions are
counted from the ledger by (campaign, edition variant) of the editions that
carried the booking (and from its roll-ups once retention deleted the rows),
clicks from `sponsor_clicks.booking_id`. Unique clicks are
distinct deliveries (archive clicks carry none and count only in the total).
Revenue fields are added by the admin, never by `booking_report`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import Session

from db.models import (
    Booking,
    Campaign,
    Delivery,
    DeliveryRollup,
    DeliveryStatus,
    Edition,
    SponsorAccount,
    SponsorClick,
)
from sponsorship.inventory import get_booking
from subscribers.exporting import neutralise


@dataclass(frozen=True)
class CampaignLine:
    campaign_id: int
    subject: str
    sent_on: dt.date | None
    impressions: int
    clicks: int
    unique_clicks: int

    @property
    def click_rate(self) -> float:
        return self.unique_clicks / self.impressions if self.impressions else 0.0


@dataclass
class BookingReport:
    booking_id: int
    sponsor: str
    starts: dt.date
    ends: dt.date
    state: str
    campaigns: list[CampaignLine] = field(default_factory=list)
    days: list[tuple[dt.date, int, int]] = field(default_factory=list)  # day, shown, clicks

    @property
    def impressions(self) -> int:
        return sum(c.impressions for c in self.campaigns)

    @property
    def clicks(self) -> int:
        return sum(c.clicks for c in self.campaigns)

    @property
    def unique_clicks(self) -> int:
        return sum(c.unique_clicks for c in self.campaigns)

    @property
    def click_rate(self) -> float:
        return self.unique_clicks / self.impressions if self.impressions else 0.0


def booking_report(session: Session, booking_id: int) -> BookingReport:
    booking: Booking = get_booking(session, booking_id)
    sponsor = session.get(SponsorAccount, booking.sponsor_id)
    carried = and_(
        Edition.campaign_id == Delivery.campaign_id,
        Edition.variant == Delivery.edition_variant,
        Edition.booking_id == booking_id,
    )
    shown = session.execute(
        select(Delivery.campaign_id, func.count(), func.min(Delivery.sent_at))
        .join(Edition, carried)
        .where(Delivery.status == DeliveryStatus.sent)
        .group_by(Delivery.campaign_id)
    ).all()
    clicks = {
        campaign_id: (int(n), int(unique))
        for campaign_id, n, unique in session.execute(
            select(
                SponsorClick.campaign_id,
                func.count(),
                func.count(distinct(SponsorClick.delivery_id)),
            )
            .where(SponsorClick.booking_id == booking_id)
            .group_by(SponsorClick.campaign_id)
        )
    }
    ids = {campaign_id for campaign_id, _, _ in shown} | set(clicks)
    counted: dict[int, tuple[int, dt.date | None]] = {
        campaign_id: (int(n), first.date() if first else None) for campaign_id, n, first in shown
    }
    # Campaigns whose rows retention replaced by counts (delivery/retention.py).
    for campaign_id, n, first_day in session.execute(
        select(DeliveryRollup.campaign_id, func.sum(DeliveryRollup.deliveries),
               func.min(DeliveryRollup.sent_day))
        .join(Edition, _rolled_up(booking_id))
        .where(DeliveryRollup.status == DeliveryStatus.sent)
        .group_by(DeliveryRollup.campaign_id)
    ):  # fmt: skip
        n_kept, first_kept = counted.get(campaign_id, (0, None))
        days = [d for d in (first_kept, first_day) if d is not None]
        counted[campaign_id] = (n_kept + int(n), min(days) if days else None)
    ids |= set(counted)
    subjects = dict(
        session.execute(select(Campaign.id, Campaign.subject).where(Campaign.id.in_(ids))).all()
    )
    lines = []
    for campaign_id in sorted(ids):
        n, first = counted.get(campaign_id, (0, None))
        total, unique = clicks.get(campaign_id, (0, 0))
        lines.append(
            CampaignLine(
                campaign_id,
                str(subjects.get(campaign_id, "")),
                first,
                n,
                total,
                unique,
            )
        )
    return BookingReport(
        booking.id,
        sponsor.name if sponsor else "",
        booking.starts,
        booking.ends,
        booking.state.value,
        lines,
        _per_day(session, booking_id, carried),
    )


def _rolled_up(booking_id: int) -> ColumnElement[bool]:
    """Roll-up rows of the editions that carried the booking (as `carried` for ledger rows)."""
    return and_(
        Edition.campaign_id == DeliveryRollup.campaign_id,
        Edition.variant == DeliveryRollup.edition_variant,
        Edition.booking_id == booking_id,
    )


def _per_day(session: Session, booking_id: int, carried: object) -> list[tuple[dt.date, int, int]]:
    """Impressions by send day and clicks by click day (UTC), every day in between."""
    sent = session.scalars(
        select(Delivery.sent_at)
        .join(Edition, carried)  # type: ignore[arg-type]
        .where(Delivery.status == DeliveryStatus.sent)
    ).all()
    clicked = session.scalars(
        select(SponsorClick.clicked_at).where(SponsorClick.booking_id == booking_id)
    ).all()
    shown: dict[dt.date, int] = {}
    clicks: dict[dt.date, int] = {}
    for at in sent:
        if at is not None:
            shown[at.date()] = shown.get(at.date(), 0) + 1
    for day, n in session.execute(
        select(DeliveryRollup.sent_day, func.sum(DeliveryRollup.deliveries))
        .join(Edition, _rolled_up(booking_id))
        .where(DeliveryRollup.status == DeliveryStatus.sent)
        .group_by(DeliveryRollup.sent_day)
    ):
        if day is not None:
            shown[day] = shown.get(day, 0) + int(n)
    for at in clicked:
        clicks[at.date()] = clicks.get(at.date(), 0) + 1
    days = sorted(shown.keys() | clicks.keys())
    if not days:
        return []
    out = []
    day = days[0]
    while day <= days[-1]:
        out.append((day, shown.get(day, 0), clicks.get(day, 0)))
        day += dt.timedelta(days=1)
    return out


CSV_COLUMNS = ["campaign_id", "subject", "sent_on", "impressions", "clicks", "unique_clicks",
               "click_rate"]  # fmt: skip


def report_csv(report: BookingReport) -> str:
    """One row per campaign; cells a spreadsheet would run as a formula are quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in report.campaigns:
        writer.writerow(
            [
                c.campaign_id,
                neutralise(c.subject),
                c.sent_on.isoformat() if c.sent_on else "",
                c.impressions,
                c.clicks,
                c.unique_clicks,
                f"{c.click_rate:.4f}",
            ]
        )
    return out.getvalue()
