"""GET /archive and GET /archive/{campaign_id}: sent editions, public, without personal links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from campaigns.compose import CampaignError
from campaigns.preview import archive_edition
from campaigns.templating import render
from campaigns.variants import DEFAULT
from config.runtime import Runtime
from db.models import MAX_ID, Campaign, CampaignStatus, Edition

router = APIRouter(tags=["public"])

# Ids are 64-bit in the database; a larger number is simply not a campaign.
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]

PAGE_SIZE = 100


def _page(rt: Runtime, **context: object) -> dict[str, object]:
    return {
        "newsletter": rt.site.newsletter,
        "archive_url": f"{rt.links.base_url}/archive",
        "subscribe_url": f"{rt.links.base_url}/",
        **context,
    }


def _day(campaign: Campaign, rt: Runtime) -> str | None:
    when = campaign.finished_at or campaign.started_at
    return when.astimezone(rt.site.newsletter.tz).strftime("%-d %B %Y") if when else None


@router.get("/archive", response_class=HTMLResponse)
def archive_index(request: Request) -> HTMLResponse:
    """Every sent campaign, newest first."""
    rt: Runtime = request.app.state.runtime
    with rt.db.session() as session:
        sent = session.execute(
            select(Campaign, Edition.subject)
            .join(
                Edition,
                (Edition.campaign_id == Campaign.id) & (Edition.variant == DEFAULT),
                isouter=True,
            )
            .where(Campaign.status == CampaignStatus.sent)
            .order_by(Campaign.id.desc())
            .limit(PAGE_SIZE)
        ).all()
        issues = [
            {"id": c.id, "subject": subject or c.subject, "date": _day(c, rt)}
            for c, subject in sent
        ]
    return HTMLResponse(render("web/archive_index.html", _page(rt, issues=issues)))


@router.get("/archive/{campaign_id}", response_class=HTMLResponse)
def archive_campaign(campaign_id: CampaignId, request: Request) -> HTMLResponse:
    """One sent edition as subscribers saw it, with a subscribe link instead of personal ones."""
    rt: Runtime = request.app.state.runtime
    with rt.db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.sent:
            return _not_found(rt)
        try:
            edition = archive_edition(session, rt.site, rt.links, campaign)
        except CampaignError:  # e.g. its posts were deleted since it was sent
            return _not_found(rt)
        date = _day(campaign, rt)
    # Links inside the framed email open outside the frame.
    edition_html = edition.html.replace("<head>", '<head><base target="_blank">', 1)
    page = _page(rt, subject=edition.subject, date=date, edition_html=edition_html)
    return HTMLResponse(render("web/archive_campaign.html", page))


def _not_found(rt: Runtime) -> HTMLResponse:
    return HTMLResponse(render("web/archive_missing.html", _page(rt)), status_code=404)
