"""Reports as pure functions over the database: what the CLI and admin API show.

Opens are counted honestly: Apple Mail Privacy Protection and mail scanners
fetch the tracking pixel without a person reading anything. An open is
"likely machine" when SendGrid flags it (`sg_machine_open`) or when it comes
within MACHINE_OPEN_SECONDS of the delivery (no person opens a message that
fast at scale). A delivery counts as a human open if at least one of its opens
is not likely machine. The report flags opens as unreliable when likely-machine
opens are at least UNRELIABLE_SHARE of unique opens.

Sponsors: an impression is a sent delivery that carried the sponsor's block;
a click is a row of the tracked redirect (`SponsorClick`). CTR is unique
clicks (distinct deliveries) over impressions. The date range selects
deliveries by send time (UTC, both ends inclusive); their clicks count
whenever they came.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, DeliveryRollup, DeliveryStatus, Event, SponsorClick
from delivery.ledger import counts_by_status
from feedback.apply import is_hard_bounce

MACHINE_OPEN_SECONDS = 10
UNRELIABLE_SHARE = 0.1


class NotFound(LookupError):
    """No such campaign."""


@dataclass(frozen=True)
class LinkClicks:
    url: str
    clicks: int
    unique: int


@dataclass(frozen=True)
class Opens:
    unique: int
    human: int
    likely_machine: int
    unreliable: bool
    rule: str


@dataclass(frozen=True)
class CampaignReport:
    campaign_id: int
    subject: str
    status: str
    audience: int
    statuses: dict[str, int]
    sent: int
    delivered: int
    bounced: int
    soft_bounced: int
    dropped: int
    complaints: int
    unsubscribes: int
    opens: Opens
    unique_clicks: int
    clicks_per_link: list[LinkClicks]
    uncertain: int
    confirmed: int
    resent: int
    held: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def campaign_report(session: Session, campaign_id: int) -> CampaignReport:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign with id {campaign_id}")
    statuses = counts_by_status(session, campaign_id)
    of_campaign = Delivery.campaign_id == campaign_id
    delivered, clicked = session.execute(
        select(func.count(Delivery.delivered_at), func.count().filter(Delivery.clicked)).where(
            of_campaign
        )
    ).one()
    settled: dict[str | None, int] = {
        how: n
        for how, n in session.execute(
            select(Delivery.reconciliation, func.count())
            .where(of_campaign, Delivery.reconciliation.is_not(None))
            .group_by(Delivery.reconciliation)
        )
    }
    # Rows that retention replaced by counts (delivery/retention.py) count as they were.
    of_rollup = DeliveryRollup.campaign_id == campaign_id
    kept_delivered, kept_clicked = session.execute(
        select(
            func.coalesce(func.sum(DeliveryRollup.delivered), 0),
            func.coalesce(func.sum(DeliveryRollup.clicked), 0),
        ).where(of_rollup)
    ).one()
    delivered, clicked = delivered + int(kept_delivered), clicked + int(kept_clicked)
    for how, n in session.execute(
        select(DeliveryRollup.reconciliation, func.sum(DeliveryRollup.deliveries))
        .where(of_rollup, DeliveryRollup.reconciliation.is_not(None))
        .group_by(DeliveryRollup.reconciliation)
    ):
        settled[how] = settled.get(how, 0) + int(n)
    people = _people_by_event(session, campaign_id)
    return CampaignReport(
        campaign_id=campaign.id,
        subject=campaign.subject,
        status=campaign.status.value,
        audience=sum(statuses.values()),
        statuses=statuses,
        sent=statuses[DeliveryStatus.sent.value],
        delivered=delivered,
        bounced=len(people["hard_bounce"]),
        soft_bounced=len(people["soft_bounce"]),
        dropped=len(people["dropped"]),
        complaints=len(people["spamreport"]),
        unsubscribes=len(people["unsubscribe"] | people["group_unsubscribe"]),
        opens=_opens(session, campaign_id),
        unique_clicks=clicked,
        clicks_per_link=_clicks_per_link(session, campaign_id),
        uncertain=statuses[DeliveryStatus.uncertain.value],
        confirmed=settled.get("confirmed", 0),
        resent=settled.get("resent", 0),
        held=settled.get("held", 0),
    )


def _people_by_event(session: Session, campaign_id: int) -> dict[str, set[str]]:
    """Distinct addresses per outcome; bounces split into hard and soft by SendGrid's type."""
    people: dict[str, set[str]] = defaultdict(set)
    rows = session.execute(
        select(Event.type, Event.email_hash, Event.payload).where(
            Event.campaign_id == campaign_id,
            Event.type.in_(
                ["bounce", "deferred", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"]
            ),
        )
    )
    for kind, ehash, payload in rows:
        if kind == "bounce":
            hard = is_hard_bounce(payload.get("type"), payload.get("bounce_classification"))
            kind = "hard_bounce" if hard else "soft_bounce"
        elif kind == "deferred":
            kind = "soft_bounce"
        people[kind].add(ehash)
    return people


def _opens(session: Session, campaign_id: int) -> Opens:
    rows = session.execute(
        select(
            Event.delivery_id,
            Event.occurred_at,
            Event.payload["sg_machine_open"].as_boolean(),
            Delivery.delivered_at,
        )
        # Outer: once retention deleted the rows, opens still count (by the flag alone).
        .join(Delivery, Delivery.id == Event.delivery_id, isouter=True)
        .where(
            Event.campaign_id == campaign_id,
            Event.type == "open",
            Event.delivery_id.is_not(None),
        )
    )
    window = dt.timedelta(seconds=MACHINE_OPEN_SECONDS)
    opened: set[int] = set()
    human: set[int] = set()
    for delivery_id, occurred_at, machine_flag, delivered_at in rows:
        opened.add(delivery_id)
        too_fast = delivered_at is not None and occurred_at - delivered_at < window
        if not machine_flag and not too_fast:
            human.add(delivery_id)
    machine = len(opened) - len(human)
    return Opens(
        unique=len(opened),
        human=len(human),
        likely_machine=machine,
        unreliable=bool(opened) and machine / len(opened) >= UNRELIABLE_SHARE,
        rule=f"machine open = sg_machine_open or within {MACHINE_OPEN_SECONDS}s of delivery",
    )


def _clicks_per_link(session: Session, campaign_id: int) -> list[LinkClicks]:
    rows = session.execute(
        select(Event.url, func.count(), func.count(distinct(Event.delivery_id)))
        .where(Event.campaign_id == campaign_id, Event.type == "click", Event.url.is_not(None))
        .group_by(Event.url)
        .order_by(func.count().desc(), Event.url)
    )
    return [LinkClicks(str(url), clicks, unique) for url, clicks, unique in rows]


@dataclass(frozen=True)
class SponsorCampaign:
    campaign_id: int
    impressions: int
    clicks: int
    unique_clicks: int
    ctr: float


@dataclass
class SponsorReport:
    sponsor: str
    impressions: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    campaigns: list[SponsorCampaign] = field(default_factory=list)

    @property
    def ctr(self) -> float:
        return _rate(self.unique_clicks, self.impressions)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ctr": self.ctr}


def sponsor_report(
    session: Session, start: dt.date | None = None, end: dt.date | None = None
) -> list[SponsorReport]:
    """Per sponsor, per campaign: impressions, clicks, unique clicks and CTR."""
    where = [Delivery.sponsor_name.is_not(None), Delivery.status == DeliveryStatus.sent]
    if start is not None:
        where.append(Delivery.sent_at >= _midnight(start))
    if end is not None:
        where.append(Delivery.sent_at < _midnight(end + dt.timedelta(days=1)))
    kept = session.execute(
        select(Delivery.sponsor_name, Delivery.campaign_id, func.count())
        .where(*where)
        .group_by(Delivery.sponsor_name, Delivery.campaign_id)
    )
    impressions = _merged(
        [(sponsor, cid, n) for sponsor, cid, n in kept],
        _rolled_up_impressions(session, start, end),
    )
    campaign_ids = {campaign_id for _, campaign_id, _ in impressions}
    clicks = {
        (sponsor, campaign_id): (n, unique)
        for sponsor, campaign_id, n, unique in session.execute(
            select(
                SponsorClick.sponsor_name,
                SponsorClick.campaign_id,
                func.count(),
                func.count(distinct(SponsorClick.delivery_id)),
            )
            .where(SponsorClick.campaign_id.in_(campaign_ids))
            .group_by(SponsorClick.sponsor_name, SponsorClick.campaign_id)
        )
    }
    reports: dict[str, SponsorReport] = {}
    for name, campaign_id, shown in sorted(impressions, key=lambda r: (str(r[0]), r[1])):
        sponsor = str(name)
        n, unique = clicks.get((sponsor, campaign_id), (0, 0))
        report = reports.setdefault(sponsor, SponsorReport(sponsor))
        report.impressions += shown
        report.clicks += n
        report.unique_clicks += unique
        report.campaigns.append(
            SponsorCampaign(campaign_id, shown, n, unique, _rate(unique, shown))
        )
    return list(reports.values())


def _rolled_up_impressions(
    session: Session, start: dt.date | None, end: dt.date | None
) -> Iterable[tuple[str | None, int, int]]:
    """Impressions of campaigns whose rows retention replaced by counts, by UTC send day."""
    where = [
        DeliveryRollup.sponsor_name.is_not(None),
        DeliveryRollup.status == DeliveryStatus.sent,
    ]
    if start is not None:
        where.append(DeliveryRollup.sent_day >= start)
    if end is not None:
        where.append(DeliveryRollup.sent_day <= end)
    rows = session.execute(
        select(
            DeliveryRollup.sponsor_name,
            DeliveryRollup.campaign_id,
            func.sum(DeliveryRollup.deliveries),
        )
        .where(*where)
        .group_by(DeliveryRollup.sponsor_name, DeliveryRollup.campaign_id)
    )
    return [(sponsor, cid, int(n)) for sponsor, cid, n in rows]


def _merged(*parts: Iterable[tuple[str | None, int, int]]) -> list[tuple[str, int, int]]:
    totals: dict[tuple[str, int], int] = defaultdict(int)
    for part in parts:
        for sponsor, campaign_id, n in part:
            totals[(str(sponsor), int(campaign_id))] += int(n)
    return [(sponsor, cid, n) for (sponsor, cid), n in totals.items()]


@dataclass(frozen=True)
class Timeline:
    """Timestamps for the plot: each delivery sent and delivered, each click.

    Link clicks come from SendGrid's click tracking, sponsor clicks from our own
    redirect; they are separate series because one click can be seen by both.
    """

    sent: list[dt.datetime]
    delivered: list[dt.datetime]
    clicks: list[dt.datetime]
    sponsor_clicks: list[dt.datetime]
    title: str = ""  # "Campaign 12: <the subject as sent>"


def campaign_timeline(session: Session, campaign_id: int) -> Timeline:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign with id {campaign_id}")
    of_campaign = Delivery.campaign_id == campaign_id

    def times(query: Any) -> list[dt.datetime]:
        return sorted(t for t in session.scalars(query) if t is not None)

    return Timeline(
        sent=times(select(Delivery.sent_at).where(of_campaign)),
        delivered=times(select(Delivery.delivered_at).where(of_campaign)),
        clicks=times(
            select(Event.occurred_at).where(Event.campaign_id == campaign_id, Event.type == "click")
        ),
        sponsor_clicks=times(
            select(SponsorClick.clicked_at).where(SponsorClick.campaign_id == campaign_id)
        ),
        title=f"Campaign {campaign_id}: {campaign.subject}",
    )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
