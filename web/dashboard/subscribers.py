"""Subscriber pages: search and filter, a person's record, add, CSV import, export and
erasure with a confirmation step. The rules live in subscribers/; this only adapts."""

from __future__ import annotations

import io
from typing import IO, Annotated, Any, cast

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from accounts.audit import record
from db.models import MAX_ID, SubscriberStatus
from subscribers import queries
from subscribers.addresses import InvalidEmail, email_hash, normalize_email
from subscribers.erasure import erase
from subscribers.exporting import csv_chunks
from subscribers.importing import ImportFileError, import_csv
from subscribers.service import Suppressed
from subscribers.signup import UnknownList, add_by_admin
from tasks.subscribers import enqueue_confirmation
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.render import error_page, page, redirect

router = APIRouter(prefix="/subscribers")
PAGE = 50
SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("")
def subscriber_list(
    request: Request,
    admin: Annotated[Admin, Depends(allow("read"))],
    q: Annotated[str, Query(max_length=320)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    list_slug: Annotated[str, Query(alias="list", max_length=64)] = "",
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    rt = runtime(request)
    chosen = SubscriberStatus(status) if status in SubscriberStatus.__members__ else None
    with rt.db.session() as session:
        rows = queries.search(
            session,
            query=q,
            status=chosen,
            list_slug=list_slug or None,
            after_id=after,
            limit=PAGE + 1,
        )
    more = rows[PAGE - 1].id if len(rows) > PAGE else None
    return page(
        request,
        "subscribers",
        {
            "title": "Subscribers",
            "rows": rows[:PAGE],
            "more": more,
            "q": q,
            "status": status,
            "list_slug": list_slug,
            "after": after,
            "statuses": [s.value for s in SubscriberStatus],
            "lists": rt.site.lists,
        },
        section="subscribers",
    )


@router.get("/{subscriber_id}")
def person_page(
    request: Request, admin: Annotated[Admin, Depends(allow("read"))], subscriber_id: SubscriberId
) -> Response:
    with runtime(request).db.session() as session:
        found = queries.person(session, subscriber_id)
        if found is None:
            return error_page(request, "Not found", "No such subscriber (erased?).", 404)
        return page(
            request,
            "person",
            {"title": found.subscriber.email, "p": found},
            section="subscribers",
        )


def _add_form(
    request: Request, error: str | None = None, values: dict[str, Any] | None = None
) -> Response:
    rt = runtime(request)
    return page(
        request,
        "subscriber_add",
        {
            "title": "Add subscribers",
            "lists": rt.site.lists,
            "values": values or {"lists": rt.site.default_lists()},
            "error": error,
        },
        section="subscribers",
        status_code=422 if error else 200,
    )


@router.get("/add/new")
def add_page(
    request: Request, admin: Annotated[Admin, Depends(allow("subscribers.add"))]
) -> Response:
    return _add_form(request)


@router.post("/add/new")
def add(
    request: Request,
    admin: Annotated[Admin, Depends(allow("subscribers.add"))],
    email: Annotated[str, Form(max_length=320)],
    name: Annotated[str, Form(max_length=200)] = "",
    lists: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    rt = runtime(request)
    values = {"email": email, "name": name, "lists": lists, "confirmed": confirmed}
    try:
        with rt.db.session() as session:
            person, confirm_id = add_by_admin(
                session,
                rt.site,
                email,
                lists,
                source="admin",
                confirmed=confirmed,
                name=name.strip() or None,
            )
            record(session, admin.actor, "subscriber.add", f"subscriber:{person.id}")
            person_id = person.id
    except (InvalidEmail, UnknownList, Suppressed) as exc:
        return _add_form(request, str(exc), values)
    enqueue_confirmation(confirm_id)
    note = "Added." if confirmed else "Added; a confirmation email is on its way."
    return redirect(request, f"/admin/subscribers/{person_id}", note)


@router.post("/import")
async def import_upload(
    request: Request,
    admin: Annotated[Admin, Depends(allow("subscribers.import"))],
    file: Annotated[UploadFile, File()],
    lists: Annotated[list[str], Form()] = [],  # noqa: B006
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Import an uploaded CSV (spooled to disk by Starlette); the page lists bad rows."""
    rt = runtime(request)
    stream = io.TextIOWrapper(
        cast(IO[bytes], file.file), encoding="utf-8-sig", errors="replace", newline=""
    )
    try:
        report = await run_in_threadpool(
            import_csv, rt.db, rt.site, stream, lists=lists, confirmed=confirmed
        )
    except (ImportFileError, UnknownList) as exc:
        return _add_form(request, f"{file.filename}: {exc}")
    with rt.db.session() as session:
        record(
            session,
            admin.actor,
            "subscribers.import",
            None,
            rows=report.rows,
            added=report.added,
            rejected=report.rejected,
        )
    return page(
        request,
        "import_result",
        {"title": "Import result", "r": report, "filename": file.filename},
        section="subscribers",
    )


@router.post("/export")
def export(
    request: Request, admin: Annotated[Admin, Depends(allow("subscribers.export"))]
) -> Response:
    """Every subscriber as CSV, streamed. A POST: a download of everyone is an action."""
    rt = runtime(request)
    with rt.db.session() as session:
        record(session, admin.actor, "subscribers.export", None)
    return StreamingResponse(
        csv_chunks(rt.db),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'},
    )


@router.get("/{subscriber_id}/erase")
def erase_confirm(
    request: Request,
    admin: Annotated[Admin, Depends(allow("subscribers.erase"))],
    subscriber_id: SubscriberId,
) -> Response:
    with runtime(request).db.session() as session:
        found = queries.person(session, subscriber_id)
    if found is None:
        return error_page(request, "Not found", "No such subscriber (erased?).", 404)
    return page(
        request, "erase", {"title": "Erase", "p": found, "error": None}, section="subscribers"
    )


@router.post("/{subscriber_id}/erase")
def erase_person(
    request: Request,
    admin: Annotated[Admin, Depends(allow("subscribers.erase"))],
    subscriber_id: SubscriberId,
    confirm_email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Erase after the admin typed the address again; the audit keeps only its hash."""
    rt = runtime(request)
    with rt.db.session() as session:
        found = queries.person(session, subscriber_id)
        if found is None:
            return error_page(request, "Not found", "No such subscriber (erased?).", 404)
        try:
            typed = normalize_email(confirm_email)
        except InvalidEmail:
            typed = ""
        if typed != found.subscriber.email:
            return page(
                request,
                "erase",
                {"title": "Erase", "p": found, "error": "The address you typed does not match."},
                section="subscribers",
                status_code=422,
            )
        result = erase(session, found.subscriber.email)
        record(
            session,
            admin.actor,
            "subscriber.erase",
            f"email_hash:{email_hash(found.subscriber.email)}",
            subscriber_id=subscriber_id,
            found=result.found,
        )
    return redirect(
        request, "/admin/subscribers", "Erased. Their address stays suppressed, as a hash."
    )
