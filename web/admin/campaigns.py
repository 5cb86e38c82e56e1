"""Admin API: campaigns."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from campaigns.compose import CampaignError
from campaigns.preview import get_campaign, preview
from campaigns.templating import TemplateRenderError
from config.runtime import Runtime
from db.models import Campaign
from delivery.ledger import counts_by_status
from subscribers.addresses import InvalidEmail
from web.archive import CampaignId

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


class CampaignOut(BaseModel):
    id: int
    subject: str
    status: str
    lists: list[str]
    post_ids: list[int]
    deliveries: dict[str, int]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("", response_model=list[CampaignOut])
def list_campaigns(request: Request, limit: int = Query(50, ge=1, le=500)) -> list[CampaignOut]:
    """Newest campaigns first, with delivery counts by state."""
    rt = _runtime(request)
    with rt.db.session() as session:
        campaigns = session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit))
        return [
            CampaignOut(
                id=c.id,
                subject=c.subject,
                status=c.status.value,
                lists=c.list_slugs,
                post_ids=c.post_ids,
                deliveries=counts_by_status(session, c.id),
            )
            for c in campaigns
        ]


@router.get(
    "/{campaign_id}/preview",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/plain": {}}},
        404: {"description": "no such campaign or subscriber"},
        422: {"description": "the campaign cannot be rendered (the detail says why)"},
    },
)
def preview_campaign(
    campaign_id: CampaignId,
    request: Request,
    as_email: str | None = Query(None, alias="as", description="Preview as this subscriber."),
    format: Literal["html", "text"] = "html",
) -> Response:
    """The edition as it will be (or was) sent: neutral links, or one subscriber's real links."""
    rt = _runtime(request)
    with rt.db.session() as session:
        try:
            campaign = get_campaign(session, campaign_id)
            shown = preview(session, rt.site, rt.links, campaign, as_email)
        except (LookupError, InvalidEmail) as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
        except (CampaignError, TemplateRenderError) as exc:
            raise HTTPException(422, detail=str(exc)) from None
    headers = {"X-Edition-Variant": shown.variant}
    if format == "text":
        return PlainTextResponse(f"Subject: {shown.subject}\n\n{shown.text}", headers=headers)
    return HTMLResponse(shown.html, headers=headers)
