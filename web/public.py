"""Public pages: subscribe, confirm, preferences, unsubscribe.

Plain server-rendered HTML that works without JavaScript. The links people
click carry signed tokens (subscribers/links.py); a GET never unsubscribes.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from campaigns.templating import TEMPLATES_DIR
from config.runtime import Runtime
from db.engine import Database
from db.group_commit import GroupCommit
from db.models import Subscriber, SubscriberStatus
from feedback import hooks
from subscribers import preferences as prefs
from subscribers.addresses import InvalidEmail
from subscribers.erasure import erase
from subscribers.links import (
    read_confirm_token,
    read_preferences_token,
    read_unsubscribe_token,
)
from subscribers.ratelimit import RateLimiter, make_rate_limiter
from subscribers.service import ConsentInfo
from subscribers.signup import UnknownList, confirm, prepare_signup, record_signup
from subscribers.tokens import InvalidToken
from subscribers.unsubscribe import unsubscribe
from tasks.app import celery_app
from tasks.events import enqueue_hooks
from tasks.subscribers import confirmation_publisher, enqueue_confirmation

router = APIRouter(tags=["public"], include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)

THANKS = (
    "Thanks! If this address can receive our letters, a confirmation email is on its way. "
    "Open it and click the link to start your subscription."
)
USER_AGENT_MAX = 512


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    site = _runtime(request).site
    base = {"newsletter": site.newsletter, "site": site}
    return templates.TemplateResponse(
        request, f"web/{name}.html", {**base, **context}, status_code=status_code
    )


def _message(
    request: Request, title: str, text: str, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    return _page(request, "message", {"title": title, "text": text, **extra}, status_code)


def _limiter(request: Request) -> RateLimiter:
    """One limiter per app, made on first use from the settings."""
    limiter: RateLimiter | None = getattr(request.app.state, "subscribe_limiter", None)
    if limiter is None:
        settings = _runtime(request).settings
        limiter = make_rate_limiter(settings.subscribe_rate_limit, settings.redis_url)
        request.app.state.subscribe_limiter = limiter
    return limiter


def _client_ip(request: Request) -> str:
    # uvicorn's proxy_headers has already applied X-Forwarded-For from trusted proxies.
    return request.client.host if request.client else "unknown"


@router.get("/", response_class=HTMLResponse)
def subscribe_page(request: Request) -> HTMLResponse:
    site = _runtime(request).site
    return _page(request, "subscribe", {"chosen": site.default_lists(), "values": {}})


@router.post("/subscribe")
async def subscribe(request: Request, background: BackgroundTasks) -> Response:
    wants_json = "application/json" in request.headers.get("content-type", "")
    decision = _limiter(request).hit(f"subscribe:{_client_ip(request)}")
    if not decision.allowed:
        headers = {"Retry-After": str(decision.retry_after)}
        text = (
            "Too many sign-up attempts from your network. "
            f"Try again in {decision.retry_after} seconds."
        )
        if wants_json:
            return JSONResponse({"error": text}, status_code=429, headers=headers)
        response = _message(request, "Slow down, please", text, status_code=429)
        response.headers.update(headers)
        return response
    fields = await _read_fields(request, wants_json)
    if fields is None:
        return JSONResponse(
            {"error": "send a JSON object with an email field (valid UTF-8 text)"},
            status_code=400,
        )
    email, lists, name = fields
    rt = _runtime(request)
    consent = ConsentInfo(
        source="api" if wants_json else "form",
        text_version=rt.site.newsletter.consent_text_version,
        ip=_client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:USER_AGENT_MAX] or None,
    )
    try:
        outcome = await run_in_threadpool(_record, rt, email, lists, name, consent)
    except (InvalidEmail, UnknownList) as exc:
        error = str(exc)
        if wants_json:
            return JSONResponse({"error": error}, status_code=400)
        values = {"email": email, "name": name}
        return _page(
            request,
            "subscribe",
            {"chosen": lists, "values": values, "error": error},
            status_code=400,
        )
    if outcome is not None:
        # After the commit and after the response: the visitor cannot time the difference.
        background.add_task(_confirm_later, outcome)
    if wants_json:
        return JSONResponse({"status": "ok", "message": THANKS})
    return _message(request, "Check your inbox", THANKS)


async def _confirm_later(subscriber_id: int) -> None:
    """Runs after the response. With a broker the id joins the publisher's next batch
    (no thread hop, no Redis round trip of its own); embedded, the task runs here."""
    if celery_app.conf.task_always_eager:
        await run_in_threadpool(enqueue_confirmation, subscriber_id)
    else:
        confirmation_publisher.put(subscriber_id)


def _encodable(text: str) -> bool:
    """False for a lone surrogate (a JSON `\\ud800` escape): no database can store it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _read_fields(request: Request, wants_json: bool) -> tuple[str, list[str], str] | None:
    if wants_json:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            # RecursionError: nesting deeper than the parser's stack (a few KB of "[").
            return None
        if not isinstance(body, dict) or not isinstance(body.get("email"), str):
            return None
        lists = body.get("lists") or []
        if not isinstance(lists, list) or not all(isinstance(x, str) for x in lists):
            return None
        name = body.get("name") if isinstance(body.get("name"), str) else ""
        if not all(_encodable(text) for text in (body["email"], name or "", *lists)):
            return None
        return body["email"], lists, name or ""
    form = await request.form()
    email = form.get("email")
    name = form.get("name")
    return (
        email if isinstance(email, str) else "",
        [x for x in form.getlist("lists") if isinstance(x, str)],
        name if isinstance(name, str) else "",
    )


# Sign-ups that arrive together are written together (db/group_commit.py): one
# writer per process at a time, which SQLite's single writer wants anyway
# (queueing on a lock beats its busy-wait back-off), and one commit for the
# batch. The input is checked before queueing, so the writer only writes.
_writers: dict[Database, GroupCommit] = {}
_writers_lock = threading.Lock()


def _writer(db: Database) -> GroupCommit:
    with _writers_lock:
        writer = _writers.get(db)
        if writer is None:
            writer = _writers[db] = GroupCommit(db)
        return writer


def _record(
    rt: Runtime, email: str, lists: list[str], name: str, consent: ConsentInfo
) -> int | None:
    request = prepare_signup(rt.site, email, lists, consent, name=name)
    outcome = _writer(rt.db).run(lambda session: record_signup(session, request))
    return outcome.confirm_subscriber_id


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """Only a page with a button: mail gateways' link scanners open links, and a GET
    must change nothing. The signed token in the form's URL is the capability (no
    session, so no cookie to forge a request with); the form works without JavaScript."""
    try:
        read_confirm_token(_runtime(request).settings.secret_key, token)
    except InvalidToken as exc:
        return _bad_link(request, exc)
    return _page(request, "confirm", {"action": f"/confirm/{token}"})


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm_now(request: Request, token: str) -> HTMLResponse:
    rt = _runtime(request)
    try:
        subscriber_id, hash_prefix = read_confirm_token(rt.settings.secret_key, token)
    except InvalidToken as exc:
        return _bad_link(request, exc)
    calls: list[hooks.HookCall] = []
    with rt.db.session() as session:
        outcome = confirm(session, subscriber_id, hash_prefix)
        person = session.get(Subscriber, subscriber_id) if outcome.state == "confirmed" else None
        if person is not None:
            calls = hooks.calls_for(rt.site, "subscribe", hooks.subscriber_data(person))
    enqueue_hooks(calls)  # after the commit: a hook never announces a rolled-back change
    if outcome.state == "gone":
        return _message(
            request,
            "This link no longer works",
            "The subscription it was made for does not exist any more.",
            status_code=404,
        )
    return _page(
        request,
        "confirmed",
        {
            "already": outcome.state == "already",
            "preferences_url": rt.links.preferences_url(subscriber_id),
        },
    )


def _bad_link(request: Request, exc: InvalidToken) -> HTMLResponse:
    return _message(
        request,
        "This link does not work",
        f"{str(exc).capitalize()}. Links in our emails must be opened exactly as sent.",
        status_code=400,
    )


def _subscriber_for_preferences(request: Request, token: str) -> tuple[int, HTMLResponse | None]:
    try:
        subscriber_id = read_preferences_token(_runtime(request).settings.secret_key, token)
    except InvalidToken as exc:
        return 0, _bad_link(request, exc)
    return subscriber_id, None


def _active(subscriber: Subscriber | None) -> bool:
    return subscriber is not None and subscriber.status in (
        SubscriberStatus.pending,
        SubscriberStatus.confirmed,
    )


def _not_subscribed(request: Request) -> HTMLResponse:
    return _message(
        request,
        "You are not subscribed",
        "This address does not receive our letters any more, so there is nothing to change.",
        status_code=404,
    )


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str, saved: bool = False) -> HTMLResponse:
    subscriber_id, error = _subscriber_for_preferences(request, token)
    if error is not None:
        return error
    rt = _runtime(request)
    with rt.db.session() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or not _active(subscriber):
            return _not_subscribed(request)
        current = prefs.current(session, subscriber)
        email = subscriber.email
    return _preferences_form(request, subscriber_id, email, current, saved=saved)


def _preferences_form(
    request: Request,
    subscriber_id: int,
    email: str,
    current: prefs.Preferences,
    *,
    saved: bool = False,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    rt = _runtime(request)
    return _page(
        request,
        "preferences",
        {
            "email": email,
            "prefs": current,
            "saved": saved,
            "errors": errors or {},
            "cadences": prefs.CADENCES,
            "timezones": prefs.timezone_choices(),
            "unsubscribe_url": rt.links.unsubscribe_url(subscriber_id),
        },
        status_code=400 if errors else 200,
    )


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def save_preferences(request: Request, token: str) -> Response:
    subscriber_id, error = _subscriber_for_preferences(request, token)
    if error is not None:
        return error
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    lists = [x for x in form.getlist("lists") if isinstance(x, str)]
    cadence, timezone, country, name = (text(f) for f in ("cadence", "timezone", "country", "name"))
    rt = _runtime(request)
    with rt.db.session() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or not _active(subscriber):
            return _not_subscribed(request)
        email = subscriber.email
        try:
            chosen = prefs.validate(
                rt.site, lists=lists, cadence=cadence, timezone=timezone, country=country, name=name
            )
        except prefs.PreferencesError as exc:
            shown = prefs.Preferences(lists, cadence, timezone, country, name)
            return _preferences_form(request, subscriber_id, email, shown, errors=exc.errors)
        prefs.save(session, subscriber, chosen)
    # Post/redirect/get: a reload does not submit the form again.
    return RedirectResponse(f"/preferences/{token}?saved=1", status_code=303)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """Only a page with a button: link scanners open links, and a GET must change nothing."""
    try:
        read_unsubscribe_token(_runtime(request).settings.secret_key, token)
    except InvalidToken as exc:
        return _bad_link(request, exc)
    return _page(request, "unsubscribe", {"action": f"/unsubscribe/{token}"})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_now(request: Request, token: str) -> HTMLResponse:
    """The button and RFC 8058 one-click (`List-Unsubscribe=One-Click`); no session needed.

    The signed token is the proof, so there is no CSRF token to check. An
    unknown (erased) subscriber gets the same success page: they are gone.
    With `erase` ticked on the page, the person's data is erased as well
    (`subscribers erase`): only the hashed suppression entry stays.
    """
    rt = _runtime(request)
    try:
        subscriber_id = read_unsubscribe_token(rt.settings.secret_key, token)
    except InvalidToken as exc:
        return _bad_link(request, exc)
    try:
        wants_erasure = (await request.form()).get("erase") == "1"
    except (MultiPartException, StarletteHTTPException):
        # A mail client's malformed multipart body must not stop a one-click unsubscribe.
        wants_erasure = False
    kept = await run_in_threadpool(_unsubscribe, rt, subscriber_id, wants_erasure)
    return _page(request, "unsubscribed", {"kept": kept})


def _unsubscribe(rt: Runtime, subscriber_id: int, wants_erasure: bool) -> bool:
    """Whether the person's address and records are still kept (the page says which)."""
    with rt.db.session() as session:
        changed = unsubscribe(session, subscriber_id)
        calls = hooks.unsubscribe_calls(session, rt.site, [subscriber_id]) if changed else []
        person = session.get(Subscriber, subscriber_id)
        kept = person is not None
        if person is not None and wants_erasure:
            erase(session, person.email)
            kept = False
    enqueue_hooks(calls)
    return kept
