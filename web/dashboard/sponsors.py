"""Sponsors: their flights on a timeline (the sponsor desk's approved bookings) and the
sponsor report (impressions, clicks, CTR per campaign, feedback.reports) with a chart. The
report scans every sponsored delivery, so it is a kept figure (figures.py), shown as of
its time."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from db.models import utcnow
from feedback.reports import SponsorCampaign, SponsorReport, sponsor_report
from sponsorship.source import placed_sponsors
from web.dashboard import figures
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.charts import bar_chart
from web.dashboard.render import page

router = APIRouter(prefix="/sponsors")


def _timeline(sponsors: list[Any], today: dt.date) -> tuple[list[dict[str, Any]], float]:
    """Each flight as left/width percentages of the span covering every flight and today."""
    if not sponsors:
        return [], 0.0
    start = min([s.starts for s in sponsors] + [today])
    end = max([s.ends for s in sponsors] + [today]) + dt.timedelta(days=1)
    span = (end - start).days

    def at(day: dt.date) -> float:
        return round(100 * (day - start).days / span, 2)

    rows = [
        {
            "name": s.name,
            "starts": s.starts,
            "ends": s.ends,
            "house": s.house,
            "left": at(s.starts),
            "width": max(round(100 * ((s.ends - s.starts).days + 1) / span, 2), 0.5),
            "in_flight": s.in_flight(today),
            "lists": s.lists,
            "weight": s.weight,
        }
        for s in sponsors
    ]
    return rows, at(today)


def _report(session: Session, start: dt.date | None, end: dt.date | None) -> list[Any]:
    """The sponsor report as stored (plain data; read back into SponsorReport)."""
    return [asdict(r) for r in sponsor_report(session, start, end)]


@router.get("")
def sponsors_page(
    request: Request,
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("read"))],
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
) -> Response:
    rt = runtime(request)
    today = utcnow().astimezone(rt.site.newsletter.tz).date()
    with rt.db.session() as session:
        flights, today_at = _timeline(list(placed_sponsors(session, rt.site)), today)
        kept, as_of = figures.get(
            session,
            rt.db,
            background,
            f"sponsors:{start}:{end}",
            functools.partial(_report, start=start, end=end),
            figures.FRESH_WHILE_RECENT,
        )
    reports = [
        SponsorReport(**{**r, "campaigns": [SponsorCampaign(**c) for c in r["campaigns"]]})
        for r in kept
    ]
    charts = {
        r.sponsor: bar_chart(
            [(f"#{c.campaign_id}", round(100 * c.ctr, 2)) for c in r.campaigns],
            f"{r.sponsor}: click-through rate (%) per campaign",
        )
        for r in reports
    }
    return page(
        request,
        "sponsors",
        {
            "title": "Sponsors",
            "flights": flights,
            "today": today,
            "today_at": today_at,
            "reports": reports,
            "charts": charts,
            "start": start,
            "end": end,
            "as_of": as_of,
        },
        section="sponsors",
    )
