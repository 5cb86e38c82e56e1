"""The dashboard: subscribers by status and their growth, recent campaigns with their
numbers, feed health, the next scheduled sends and the sponsors in flight."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.schedules import next_firing
from config.site import Schedule
from content.status import feed_statuses
from db.engine import Database
from db.models import AdminFigure, Campaign, CampaignStatus, utcnow
from delivery.ledger import counts_by_status
from feedback import figures as kept_figures
from sponsorship.source import sponsors_for
from subscribers import queries
from web.dashboard import figures
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.cache import cached
from web.dashboard.charts import bar_chart, day_label
from web.dashboard.render import page

# Its own prefix: a route at exactly /admin cannot sit in a router included under /admin.
router = APIRouter(prefix="/admin", include_in_schema=False)
GROWTH_DAYS = 30
AGGREGATES_FRESH = dt.timedelta(minutes=1)
RECENT = 5


def campaign_counts(
    session: Session,
    db: Database,
    background: BackgroundTasks | None,
    campaign: Campaign,
    found: AdminFigure | None = None,
    *,
    wait: bool = True,
) -> tuple[dict[str, int] | None, dt.datetime | None]:
    """Delivery counts by state and when they were counted (None: just now). A finished
    campaign's are kept in the database (figures.py); a live one's are counted, briefly
    cached per process. With `wait=False` counts not kept yet are None (being counted)."""
    if figures.kept(campaign):
        value, at = figures.get(
            session,
            db,
            background,
            kept_figures.counts_key(campaign.id),
            functools.partial(kept_figures.counts, campaign_id=campaign.id),
            figures.freshness(campaign, utcnow()),
            found,
            wait=wait,
        )
        return (None if value is None else dict(value)), at
    live: dict[str, int] = cached(
        ("campaign-counts", campaign.id),
        functools.partial(counts_by_status, session, campaign.id),
        ttl=2,
    )
    return live, None


def campaign_rows(
    session: Session,
    db: Database,
    background: BackgroundTasks | None,
    campaigns: list[Campaign],
) -> list[dict[str, Any]]:
    """Campaigns with their delivery counts: one read of the kept counts for the page.
    Counts not kept yet are counted after the response (`counts` None: "counting")."""
    keys = (kept_figures.counts_key(c.id) for c in campaigns if figures.kept(c))
    kept = figures.read_many(session, keys)
    rows = []
    for c in campaigns:
        found = kept.get(kept_figures.counts_key(c.id))
        counts, _ = campaign_counts(session, db, background, c, found, wait=False)
        rows.append(
            {
                "id": c.id,
                "subject": c.subject,
                "status": c.status.value,
                "created_at": c.created_at,
                "send_at": c.send_at,
                "finished_at": c.finished_at,
                "counts": counts,
                "total": None if counts is None else sum(counts.values()),
            }
        )
    return rows


def next_sends(
    scheduled: list[dict[str, Any]],
    schedules: Sequence[Schedule],
    now: dt.datetime,
    tz: dt.tzinfo,
) -> list[dict[str, Any]]:
    """Scheduled campaigns and each digest schedule's next firing, soonest first."""
    items = [{**c, "kind": "campaign"} for c in scheduled]
    for s in schedules:
        if s.kind == "digest" and s.cron:
            at = next_firing(s.cron, now, tz)
            items.append({"kind": "schedule", "name": s.name, "send_at": at, "lists": s.lists})
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(items, key=lambda item: item["send_at"] or far)[: RECENT * 2]


def _status_counts(session: Session) -> dict[str, Any]:
    found = queries.status_counts(session)
    return {"counts": found.counts, "estimated": found.estimated}


def _growth(session: Session, since: dt.datetime) -> list[tuple[str, int]]:
    """Sign-ups per day from `since` to the time of computing (dates as ISO text, to store)."""
    return [(day.isoformat(), n) for day, n in queries.signups_per_day(session, since, utcnow())]


@router.get("")
def dashboard(
    request: Request, background: BackgroundTasks, admin: Annotated[Admin, Depends(allow("read"))]
) -> Response:
    rt = runtime(request)
    now = utcnow()
    since = (now - dt.timedelta(days=GROWTH_DAYS - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    with rt.db.session() as session:
        # Kept figures (figures.py): counting a million people is slower than a page may be.
        statuses, _ = figures.get(
            session, rt.db, background, "status-counts", _status_counts, AGGREGATES_FRESH
        )
        days, _ = figures.get(
            session,
            rt.db,
            background,
            f"growth:{since.date().isoformat()}",
            functools.partial(_growth, since=since),
            AGGREGATES_FRESH,
        )
        growth = [(dt.date.fromisoformat(day), n) for day, n in days]
        recent = list(session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(RECENT)))
        recent_rows = campaign_rows(session, rt.db, background, recent)
        scheduled = list(
            session.scalars(
                select(Campaign)
                .where(Campaign.status == CampaignStatus.scheduled)
                .order_by(Campaign.send_at)
                .limit(RECENT)
            )
        )
        scheduled_rows = [
            {"id": c.id, "subject": c.subject, "send_at": c.send_at, "local": c.local_send_time}
            for c in scheduled
        ]
        upcoming = next_sends(scheduled_rows, rt.site.schedules, now, rt.site.newsletter.tz)
        feeds = feed_statuses(session, rt.site)
        today = now.astimezone(rt.site.newsletter.tz).date()
        in_flight = [s for s in sponsors_for(session, rt.site, today) if not s.house]
    chart = bar_chart(
        [(day_label(day), n) for day, n in growth],
        f"New subscribers per day, last {GROWTH_DAYS} days",
    )
    return page(
        request,
        "home",
        {
            "title": "Dashboard",
            "statuses": statuses,
            "growth": growth,
            "growth_total": sum(n for _, n in growth),
            "chart": chart,
            "recent": recent_rows,
            "upcoming": upcoming,
            "instant": [s for s in rt.site.schedules if s.kind == "instant"],
            "tz_name": str(rt.site.newsletter.tz),
            "feeds": feeds,
            "in_flight": in_flight,
            "now": now,
        },
        section="home",
    )
