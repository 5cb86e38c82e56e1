"""The sponsor's own pages: creative intake and the booking's report, opened from signed,
expiring links (sponsorship.links). No login: the link is the key.

Invariants: a forged, altered, expired or foreign-purpose token gets a 403 page
and reads nothing; the report shows counts only, never a subscriber; the intake
form is CSRF-safe without a session (a POST must carry the secret, signed link,
which a forging site cannot know, and a POST naming another Origin is refused),
and what it takes is cleaned by sponsorship.creative.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

import tasks.sponsors  # noqa: F401 - booking changes send their hook after each commit
from accounts.audit import Actor
from campaigns.templating import TEMPLATES_DIR
from config.runtime import Runtime
from db.models import Booking, SponsorAccount
from sponsorship import creative, reports
from sponsorship.creative import CreativeInput, CreativeInvalid
from sponsorship.inventory import DeskError
from sponsorship.links import read_intake_token, read_report_token
from subscribers.tokens import InvalidToken
from web.dashboard.charts import bar_chart, day_label
from web.dashboard.desk import csv_response
from web.dashboard.render import templates as admin_templates

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters.update(admin_templates.env.filters)  # thousands, percent


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    site = _rt(request).site
    response = templates.TemplateResponse(
        request,
        f"web/{name}.html",
        {"newsletter": site.newsletter, "site": site, "limits": creative.LIMITS, **context},
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request: Request, reason: str) -> Response:
    return _page(
        request,
        "sponsor_message",
        {
            "title": "This link does not work",
            "text": f"{reason.capitalize()}. Ask the newsletter for a new link.",
        },
        403,
    )


def _same_origin(request: Request) -> bool:
    # The page's no-referrer policy makes browsers send `Origin: null`; only a named
    # foreign origin is refused. The secret token in the path is the CSRF token.
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    base = _rt(request).base_url
    host = request.headers.get("host", "")
    return origin.rstrip("/") in {base, f"{request.url.scheme}://{host}"}


def _intake_context(request: Request, booking_id: int) -> dict[str, Any] | None:
    with _rt(request).db.session() as session:
        booking = session.get(Booking, booking_id)
        if booking is None:
            return None
        sponsor = session.get(SponsorAccount, booking.sponsor_id)
        last = creative.latest(session, booking_id)
        return {
            "sponsor": sponsor.name if sponsor else "",
            "state": booking.state.value,
            "day": booking.starts,
            "ends": booking.ends,
            "last": last,
            "values": {
                "headline": last.headline if last else "",
                "text": last.text if last else "",
                "url": last.url if last else "",
                "cta": last.cta if last else "",
                "image_url": (last.image_url or "") if last else "",
            },
        }


@router.get("/sponsor/intake/{token}", response_class=HTMLResponse)
def intake_form(token: str, request: Request) -> Response:
    try:
        booking_id = read_intake_token(_rt(request).settings.secret_key, token)
    except InvalidToken as exc:
        return _refused(request, str(exc))
    context = _intake_context(request, booking_id)
    if context is None:
        return _refused(request, "this link is not valid")
    return _page(request, "sponsor_intake", {**context, "errors": {}, "sent": False})


@router.post("/sponsor/intake/{token}", response_class=HTMLResponse)
def intake_submit(
    token: str,
    request: Request,
    headline: Annotated[str, Form(max_length=1000)] = "",
    text: Annotated[str, Form(max_length=5000)] = "",
    url: Annotated[str, Form(max_length=4000)] = "",
    cta: Annotated[str, Form(max_length=1000)] = "",
    image_url: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    rt = _rt(request)
    try:
        booking_id = read_intake_token(rt.settings.secret_key, token)
    except InvalidToken as exc:
        return _refused(request, str(exc))
    if not _same_origin(request):
        return _refused(request, "this form was sent from another site")
    raw = CreativeInput(headline=headline, text=text, url=url, cta=cta, image_url=image_url)
    client = request.client.host if request.client else None
    try:
        with rt.db.session() as session:
            made = creative.submit(session, booking_id, raw, Actor("sponsor", client))
            version = made.version
    except CreativeInvalid as exc:
        context = _intake_context(request, booking_id) or {}
        values = {k: getattr(raw, k) for k in ("headline", "text", "url", "cta", "image_url")}
        return _page(
            request,
            "sponsor_intake",
            {**context, "values": values, "errors": exc.errors, "sent": False},
            422,
        )
    except (DeskError, LookupError) as exc:
        return _page(request, "sponsor_message", {"title": "Not now", "text": str(exc)}, 409)
    context = _intake_context(request, booking_id) or {}
    return _page(request, "sponsor_intake", {**context, "errors": {}, "sent": version})


def _report(request: Request, token: str) -> reports.BookingReport | Response:
    try:
        booking_id = read_report_token(_rt(request).settings.secret_key, token)
    except InvalidToken as exc:
        return _refused(request, str(exc))
    with _rt(request).db.session() as session:
        try:
            return reports.booking_report(session, booking_id)
        except LookupError:
            return _refused(request, "this link is not valid")


@router.get("/sponsor/report/{token}", response_class=HTMLResponse)
def report_page(token: str, request: Request) -> Response:
    made = _report(request, token)
    if isinstance(made, Response):
        return made
    chart = bar_chart(
        [(day_label(day), clicks) for day, _, clicks in made.days],
        f"{made.sponsor}: clicks per day",
    )
    return _page(
        request,
        "sponsor_report",
        {"report": made, "chart": chart, "token": token},
    )


@router.get("/sponsor/report/{token}/report.csv")
def report_download(token: str, request: Request) -> Response:
    made = _report(request, token)
    if isinstance(made, Response):
        return made
    return csv_response(made)
