"""Campaign pages: list, create from new posts, preview, test, send (now, at a time, at
a local time), live progress, pause/resume/cancel and the report.

Every action calls what the CLI and /api call (campaigns.compose, campaigns.preview,
delivery.campaign_send, tasks.sending, feedback.reports) and leaves an audit entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from accounts.audit import record
from campaigns.compose import CampaignError, create_campaign, new_posts, post_view
from campaigns.preview import get_campaign, in_dark_mode, preview
from campaigns.templating import TemplateRenderError
from db.engine import Database
from db.models import MAX_ID, Campaign, CampaignStatus, Post, utcnow
from delivery import campaign_send
from delivery.message import SendError
from feedback import figures as kept_figures
from feedback.plot import timeline_png
from feedback.reports import NotFound, campaign_timeline
from subscribers.addresses import InvalidEmail
from web.dashboard import figures
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.home import campaign_counts, campaign_rows
from web.dashboard.render import error_page, page, redirect

router = APIRouter(prefix="/campaigns")
PAGE = 25
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
# A preview may show images from anywhere but run nothing and send nothing.
PREVIEW_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "img-src http: https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
LIVE = {CampaignStatus.sending.value, CampaignStatus.scheduled.value}


@router.get("")
def campaign_list(
    request: Request,
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("read"))],
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Newest first, PAGE at a time; `before` is the last id shown (keyset paging)."""
    db = runtime(request).db
    with db.session() as session:
        query = select(Campaign).order_by(Campaign.id.desc()).limit(PAGE + 1)
        if before is not None:
            query = query.where(Campaign.id < before)
        found = list(session.scalars(query))
        rows = campaign_rows(session, db, background, found[:PAGE])
    more = rows[-1]["id"] if len(found) > PAGE else None
    return page(
        request,
        "campaigns",
        {"title": "Campaigns", "campaigns": rows, "more": more, "before": before},
        section="campaigns",
    )


def _new_form(
    request: Request, error: str | None = None, values: dict[str, Any] | None = None
) -> Response:
    rt = runtime(request)
    with rt.db.session() as session:
        posts = [
            {
                "id": p.id,
                "title": p.title,
                "kind": p.kind.value,
                "published_at": p.published_at,
                "summary": post_view(p, rt.site.newsletter.tz).summary_text,
            }
            for p in new_posts(session, None, utcnow())
        ]
    values = values or {"lists": rt.site.default_lists(), "post_ids": [p["id"] for p in posts]}
    return page(
        request,
        "campaign_new",
        {
            "title": "New campaign",
            "posts": posts,
            "lists": rt.site.lists,
            "values": values,
            "error": error,
        },
        section="campaigns",
        status_code=422 if error else 200,
    )


@router.get("/new")
def new_campaign(
    request: Request, admin: Annotated[Admin, Depends(allow("campaign.create"))]
) -> Response:
    return _new_form(request)


@router.post("")
def create(
    request: Request,
    admin: Annotated[Admin, Depends(allow("campaign.create"))],
    lists: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    post_ids: Annotated[list[int], Form()] = [],  # noqa: B006
    subject: Annotated[str, Form(max_length=500)] = "",
    intro: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    rt = runtime(request)
    values = {"lists": lists, "post_ids": post_ids, "subject": subject, "intro": intro}
    if not post_ids:
        return _new_form(request, "Choose at least one post.", values)
    try:
        with rt.db.session() as session:
            campaign = create_campaign(
                session,
                rt.site,
                lists=lists,
                post_ids=post_ids,
                subject=subject.strip() or None,
                intro=intro.strip(),
            )
            record(
                session, admin.actor, "campaign.create", f"campaign:{campaign.id}", posts=post_ids
            )
            campaign_id = campaign.id
    except CampaignError as exc:
        return _new_form(request, str(exc), values)
    return redirect(request, f"/admin/campaigns/{campaign_id}", "Campaign created as a draft.")


def _progress(
    request: Request,
    campaign_id: int,
    watch: bool = False,
    background: BackgroundTasks | None = None,
) -> dict[str, Any]:
    """`watch`: the admin just pressed send, so a draft is about to start: keep polling.
    A finished campaign's counts are the kept ones (figures.py), with their time."""
    db = runtime(request).db
    with db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None and figures.kept(campaign):
            counts, as_of = campaign_counts(session, db, background, campaign)
            assert counts is not None  # waited for
            total = sum(counts.values())
            return {
                "id": campaign_id,
                "status": campaign.status.value,
                "reason": campaign.status_reason,
                "total": total,
                "done": total - counts["queued"] - counts["sending"],
                "waiting": 0,
                "counts": counts,
                "live": False,
                "watch": watch,
                "as_of": as_of,
            }
    shown = campaign_send.progress(db, campaign_id)
    return {
        "id": shown.id,
        "status": shown.status,
        "reason": shown.status_reason,
        "total": shown.total,
        "done": shown.done,
        "waiting": shown.waiting,
        "counts": shown.counts,
        "live": shown.status in LIVE or (watch and shown.status == CampaignStatus.draft.value),
        "watch": watch,
        "as_of": None,
    }


@router.get("/{campaign_id}")
def campaign_page(
    request: Request,
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("read"))],
    campaign_id: CampaignId,
    as_email: Annotated[str | None, Query(alias="as", max_length=320)] = None,
    watch: bool = False,
) -> Response:
    rt = runtime(request)
    with rt.db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return error_page(request, "Not found", f"No campaign with id {campaign_id}.", 404)
        info = {
            "id": campaign.id,
            "subject": campaign.subject,
            "intro": campaign.intro,
            "status": campaign.status.value,
            "lists": campaign.list_slugs,
            "send_at": campaign.send_at,
            "local_time": campaign.local_send_time,
            "created_at": campaign.created_at,
            "started_at": campaign.started_at,
            "finished_at": campaign.finished_at,
        }
        posts = list(session.scalars(select(Post).where(Post.id.in_(campaign.post_ids or [0]))))
        post_titles = [p.title for p in posts]
    return page(
        request,
        "campaign",
        {
            "title": f"Campaign {campaign_id}",
            "c": info,
            "posts": post_titles,
            "progress": _progress(request, campaign_id, watch, background),
            "as_email": (as_email or "").strip(),
            "sendable": info["status"] in ("draft", "scheduled"),
            "actions": valid_actions(CampaignStatus(str(info["status"]))),
        },
        section="campaigns",
    )


@router.get("/{campaign_id}/progress")
def progress_fragment(
    request: Request,
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("read"))],
    campaign_id: CampaignId,
    watch: bool = False,
) -> Response:
    """The progress block alone; htmx swaps it in every two seconds while sending.
    When a watched send ends, htmx reloads the page so its actions match the new state."""
    shown = _progress(request, campaign_id, watch, background)
    response = page(request, "_progress", {"progress": shown}, section="campaigns")
    if watch and not shown["live"]:
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/{campaign_id}/preview.html")
def preview_frame(
    request: Request,
    admin: Annotated[Admin, Depends(allow("campaign.preview"))],
    campaign_id: CampaignId,
    as_email: Annotated[str | None, Query(alias="as", max_length=320)] = None,
    dark: bool = False,
) -> Response:
    """The edition for the preview frame, as that subscriber (or with neutral links)."""
    rt = runtime(request)
    try:
        with rt.db.session() as session:
            campaign = get_campaign(session, campaign_id)
            shown = preview(session, rt.site, rt.links, campaign, as_email or None)
    except (LookupError, InvalidEmail) as exc:
        return HTMLResponse(f"<p>{_escape(str(exc))}</p>", status_code=404)
    except (CampaignError, TemplateRenderError) as exc:
        return HTMLResponse(f"<p>{_escape(str(exc))}</p>", status_code=422)
    html = in_dark_mode(shown.html) if dark else shown.html
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Edition-Variant": shown.variant,
            "Cache-Control": "no-store",
        },
    )


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@router.post("/{campaign_id}/test")
async def test_send(
    request: Request,
    admin: Annotated[Admin, Depends(allow("campaign.test"))],
    campaign_id: CampaignId,
    to: Annotated[str, Form(max_length=320)],
) -> Response:
    rt = runtime(request)
    url = f"/admin/campaigns/{campaign_id}"
    try:
        await run_in_threadpool(
            campaign_send.send_test, rt.db, rt.site, rt.sender, rt.links, campaign_id, to.strip()
        )
    except (SendError, CampaignError, InvalidEmail, TemplateRenderError) as exc:
        return redirect(request, url, f"Test send failed: {exc}")
    with rt.db.session() as session:
        record(session, admin.actor, "campaign.test", f"campaign:{campaign_id}")
    return redirect(request, url, f"A [TEST] copy went to {to.strip()}.")


@router.post("/{campaign_id}/send")
async def send(
    request: Request,
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("campaign.send"))],
    campaign_id: CampaignId,
    when: Annotated[Literal["now", "at", "local"], Form()] = "now",
    at: Annotated[str, Form(max_length=40)] = "",
    local_time: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    from tasks.sending import send_or_schedule, start_sending

    rt = runtime(request)
    url = f"/admin/campaigns/{campaign_id}"
    send_at: dt.datetime | None = None
    try:
        if when == "at":
            send_at = dt.datetime.fromisoformat(at)
        local = local_time if when == "local" else None
        if when == "local" and not local:
            raise ValueError("give the local time, e.g. 09:00")
        starts_now = await run_in_threadpool(
            partial(send_or_schedule, start=False),
            rt.db,
            rt.site,
            campaign_id,
            at=send_at,
            local_time=local,
        )
    except ValueError as exc:  # CampaignError is one: the campaign cannot send now
        return redirect(request, url, f"Not sent: {exc}")
    with rt.db.session() as session:
        record(session, admin.actor, "campaign.send", f"campaign:{campaign_id}", when=when, at=at)
    if starts_now:
        # After the response: embedded (no Redis) the send runs inline and would hold the page.
        background.add_task(start_sending, campaign_id)
    if when == "at":
        return redirect(request, url, f"Scheduled for {at} (site time).")
    return redirect(request, f"{url}?watch=1", "Sending started.")


ACTION_LABELS = {"pause": "Pause", "resume": "Resume", "cancel": "Cancel for good"}


def valid_actions(status: CampaignStatus) -> list[tuple[str, str]]:
    """The life-cycle buttons this state allows, as delivery/campaign_send.py decides them
    (the server refuses the others either way, with the reason)."""
    names = []
    if status is CampaignStatus.sending:
        names.append("pause")
    if status is CampaignStatus.paused:
        names.append("resume")
    if status in campaign_send.CANCELLABLE:
        names.append("cancel")
    return [(name, ACTION_LABELS[name]) for name in names]


def _transition(
    request: Request,
    admin: Admin,
    campaign_id: int,
    action: str,
    background: BackgroundTasks | None = None,
) -> Response:
    from tasks.sending import resume_sending, start_sending

    rt = runtime(request)
    changes: dict[str, Callable[[Database, int], object]] = {
        "pause": campaign_send.pause,
        "resume": partial(resume_sending, start=False),
        "cancel": campaign_send.cancel,
    }
    change = changes[action]
    url = f"/admin/campaigns/{campaign_id}"
    try:
        change(rt.db, campaign_id)
    except CampaignError as exc:
        return redirect(request, url, f"Could not {action}: {exc}")
    if background is not None:
        background.add_task(start_sending, campaign_id)
    with rt.db.session() as session:
        record(session, admin.actor, f"campaign.{action}", f"campaign:{campaign_id}")
    return redirect(
        request, url, {"pause": "Paused.", "resume": "Resumed.", "cancel": "Cancelled."}[action]
    )


@router.post("/{campaign_id}/pause")
def pause(
    request: Request,
    admin: Annotated[Admin, Depends(allow("campaign.pause"))],
    campaign_id: CampaignId,
) -> Response:
    return _transition(request, admin, campaign_id, "pause")


@router.post("/{campaign_id}/resume")
def resume(
    request: Request,
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("campaign.resume"))],
    campaign_id: CampaignId,
) -> Response:
    return _transition(request, admin, campaign_id, "resume", background)


@router.post("/{campaign_id}/cancel")
def cancel(
    request: Request,
    admin: Annotated[Admin, Depends(allow("campaign.cancel"))],
    campaign_id: CampaignId,
) -> Response:
    return _transition(request, admin, campaign_id, "cancel")


@router.get("/{campaign_id}/report")
def report(
    request: Request,
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("read"))],
    campaign_id: CampaignId,
) -> Response:
    """A finished campaign's report is the kept one (figures.py), shown with its time."""
    db = runtime(request).db
    as_of: dt.datetime | None = None
    with db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return error_page(request, "Not found", f"no campaign with id {campaign_id}", 404)
        shown: Any
        if figures.kept(campaign):
            shown, as_of = figures.get(
                session,
                db,
                background,
                kept_figures.report_key(campaign_id),
                partial(kept_figures.report, campaign_id=campaign_id),
                figures.freshness(campaign, utcnow()),
            )
        else:
            shown = kept_figures.report(session, campaign_id)
    return page(
        request,
        "campaign_report",
        {"title": f"Report: campaign {campaign_id}", "r": shown, "as_of": as_of},
        section="campaigns",
    )


@router.get("/{campaign_id}/plot.png")
def plot(
    request: Request, admin: Annotated[Admin, Depends(allow("read"))], campaign_id: CampaignId
) -> Response:
    with runtime(request).db.session() as session:
        try:
            timeline = campaign_timeline(session, campaign_id)
        except NotFound:
            return Response(status_code=404)
    return Response(timeline_png(timeline, f"Campaign {campaign_id}"), media_type="image/png")
