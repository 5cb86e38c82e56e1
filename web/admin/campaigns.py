"""Admin API: campaigns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select

from campaigns.compose import CampaignError, EmptyCampaign, create_campaign
from campaigns.preview import get_campaign, preview
from campaigns.templating import TemplateRenderError
from config.runtime import Runtime
from db.engine import Database
from db.models import MAX_ID, Campaign
from delivery import campaign_send
from delivery.ledger import counts_by_status
from delivery.message import SendError
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


# -- life cycle (delivery) ----------------------------------------------------------


class CampaignIn(BaseModel):
    lists: list[str] = Field(
        default_factory=list, description="Audience lists; default lists if empty."
    )
    post_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, description="Posts to include; new posts if left out."
    )
    subject: str | None = Field(
        None,
        description="Sandboxed Jinja with `lead`, `posts` and `newsletter`, "
        "e.g. `New: {{ lead.title }}`; the lead post's title if left out.",
    )
    intro: str = Field("", description="A note above the posts; a campaign needs posts or this.")


class SendIn(BaseModel):
    at: dt.datetime | None = Field(
        None, description="Send later (ISO 8601; without an offset, the site's time zone)."
    )
    local_time: str | None = Field(
        None, description="HH:MM in each subscriber's time zone.", examples=["09:00"]
    )


class TestIn(BaseModel):
    to: EmailStr


class ProgressOut(BaseModel):
    id: int
    status: str
    status_reason: str | None
    total: int
    done: int
    waiting: int
    deliveries: dict[str, int]


def _progress(rt: Runtime, campaign_id: CampaignId) -> ProgressOut:
    with rt.db.session() as session:
        if session.get(Campaign, campaign_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign with id {campaign_id}")
    return ProgressOut(**campaign_send.progress(rt.db, campaign_id).as_dict())  # type: ignore[arg-type]


def _conflict(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.post(
    "",
    response_model=CampaignOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "unknown list, no posts and no intro, or a bad subject"}},
)
def create(request: Request, body: CampaignIn) -> CampaignOut:
    """Compose a draft campaign from posts (new ones by default); it needs posts or an intro."""
    rt = _runtime(request)
    try:
        with rt.db.session() as session:
            campaign = create_campaign(
                session,
                rt.site,
                lists=body.lists or rt.site.default_lists(),
                post_ids=body.post_ids,
                subject=body.subject,
                intro=body.intro,
            )
            return CampaignOut(
                id=campaign.id,
                subject=campaign.subject,
                status=campaign.status.value,
                lists=campaign.list_slugs,
                post_ids=campaign.post_ids,
                deliveries={},
            )
    except (CampaignError, TemplateRenderError) as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/{campaign_id}", response_model=ProgressOut)
def get_status(request: Request, campaign_id: CampaignId) -> ProgressOut:
    """The campaign's state and its deliveries counted by state."""
    return _progress(_runtime(request), campaign_id)


@router.post("/{campaign_id}/send", response_model=ProgressOut, status_code=202)
def send(request: Request, campaign_id: CampaignId, body: SendIn | None = None) -> ProgressOut:
    """Send now, or schedule with `at`; `local_time` sends at HH:MM in each subscriber's zone."""
    from tasks.sending import send_or_schedule

    rt = _runtime(request)
    body = body or SendIn(at=None, local_time=None)
    _progress(rt, campaign_id)  # 404 first
    try:
        send_or_schedule(rt.db, rt.site, campaign_id, at=body.at, local_time=body.local_time)
    except (campaign_send.SendTimeInPast, EmptyCampaign) as exc:
        raise HTTPException(422, str(exc)) from None
    except ValueError as exc:
        raise _conflict(exc) from None
    return _progress(rt, campaign_id)


def _transition(
    request: Request, campaign_id: int, change: Callable[[Database, int], object]
) -> Runtime:
    """Apply a life-cycle change; a change the campaign's state forbids is a 409."""
    rt = _runtime(request)
    _progress(rt, campaign_id)  # 404 first
    try:
        change(rt.db, campaign_id)
    except CampaignError as exc:
        raise _conflict(exc) from None
    return rt


@router.post("/{campaign_id}/pause", response_model=ProgressOut)
def pause(request: Request, campaign_id: CampaignId) -> ProgressOut:
    return _progress(_transition(request, campaign_id, campaign_send.pause), campaign_id)


@router.post("/{campaign_id}/resume", response_model=ProgressOut)
def resume(request: Request, campaign_id: CampaignId) -> ProgressOut:
    from tasks.sending import resume_sending

    return _progress(_transition(request, campaign_id, resume_sending), campaign_id)


@router.post("/{campaign_id}/cancel", response_model=ProgressOut)
def cancel(request: Request, campaign_id: CampaignId) -> ProgressOut:
    """Stop for good; deliveries not yet sent become `skipped`."""
    return _progress(_transition(request, campaign_id, campaign_send.cancel), campaign_id)


@router.post("/{campaign_id}/test", status_code=202)
def test_send(request: Request, campaign_id: CampaignId, body: TestIn) -> dict[str, str]:
    """Send one [TEST] copy to `to`; nothing is recorded in the ledger."""
    rt = _runtime(request)
    _progress(rt, campaign_id)
    try:
        campaign_send.send_test(rt.db, rt.site, rt.sender, rt.links, campaign_id, str(body.to))
    except (SendError, CampaignError) as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"test send failed: {exc}") from None
    return {"status": "sent", "to": str(body.to)}
