"""Admin API: the campaign and sponsor reports (the same functions as the CLI)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from config.runtime import Runtime
from db.models import MAX_ID
from feedback.plot import timeline_png
from feedback.reports import NotFound, campaign_report, campaign_timeline, sponsor_report

router = APIRouter(prefix="/reports", tags=["reports"])

# Ids are 64-bit in the database: a larger number is a validation error, not a 500.
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/campaigns/{campaign_id}")
def campaign(request: Request, campaign_id: CampaignId) -> dict[str, Any]:
    """Audience, sent, delivered, bounces, complaints, unsubscribes, opens and clicks."""
    with _runtime(request).db.session() as session:
        try:
            return campaign_report(session, campaign_id).as_dict()
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None


@router.get(
    "/campaigns/{campaign_id}/plot.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def campaign_plot(request: Request, campaign_id: CampaignId) -> Response:
    """Deliveries and clicks over time, as a PNG."""
    with _runtime(request).db.session() as session:
        try:
            timeline = campaign_timeline(session, campaign_id)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
    return Response(timeline_png(timeline), media_type="image/png")


@router.get("/sponsors")
def sponsors(
    request: Request,
    start: dt.date | None = Query(None, alias="from", description="First send day (UTC)."),
    end: dt.date | None = Query(None, alias="to", description="Last send day (UTC)."),
) -> list[dict[str, Any]]:
    """Per sponsor and campaign: impressions, clicks, unique clicks and CTR."""
    if start and end and end < start:
        raise HTTPException(422, "'to' is before 'from'")
    with _runtime(request).db.session() as session:
        return [r.as_dict() for r in sponsor_report(session, start, end)]
