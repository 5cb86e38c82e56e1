"""Subscriber pages: search and filter, a person's record, add, CSV import (a background
job with a progress page), export and erasure with a confirmation step. The rules live in
subscribers/; this only adapts."""

from __future__ import annotations

import secrets
from typing import IO, Annotated, Any, cast

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    Form,
    Path,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from accounts.audit import record
from db.models import MAX_ID, SubscriberStatus
from subscribers import queries
from subscribers.addresses import InvalidEmail, email_hash, normalize_email
from subscribers.erasure import erase
from subscribers.exporting import csv_chunks
from subscribers.import_jobs import (
    KEEP_REJECTIONS,
    JobView,
    create_job,
    job_view,
    rejected_path,
    save_upload,
    upload_path,
)
from subscribers.service import Suppressed
from subscribers.signup import UnknownList, add_by_admin
from tasks.subscribers import enqueue_confirmation, start_import
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.render import error_page, page, redirect

router = APIRouter(prefix="/subscribers")
PAGE = 50
SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID)]
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]


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
    background: BackgroundTasks,
    admin: Annotated[Admin, Depends(allow("subscribers.import"))],
    file: Annotated[UploadFile, File()],
    lists: Annotated[list[str], Form()] = [],  # noqa: B006
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Save the upload (Starlette spooled it to disk) under DATA_DIR and import it in the
    background; the answer is the job's progress page."""
    rt = runtime(request)
    unknown = sorted(set(lists) - set(rt.site.list_slugs()))
    if unknown:
        return _add_form(request, f"unknown list(s): {', '.join(unknown)}")
    directory = rt.settings.imports_dir
    incoming = directory / f"incoming-{secrets.token_hex(8)}.csv"
    size = await run_in_threadpool(save_upload, cast(IO[bytes], file.file), incoming)
    with rt.db.session() as session:
        job = create_job(
            session,
            actor=admin.actor.name,
            filename=file.filename or "upload.csv",
            size_bytes=size,
            lists=lists,
            confirmed=confirmed,
        )
        incoming.replace(upload_path(directory, job.id))
        record(
            session,
            admin.actor,
            "subscribers.import",
            f"import:{job.id}",
            filename=job.filename,
            bytes=size,
        )
        job_id = job.id
    # After the response: embedded (no Redis) the import runs inline and would hold the page.
    background.add_task(start_import, job_id)
    return redirect(request, f"/admin/subscribers/import/{job_id}", "Import started.")


def _job_or_404(request: Request, job_id: int, *, with_rejections: bool = True) -> JobView | None:
    with runtime(request).db.session() as session:
        return job_view(session, job_id, with_rejections=with_rejections)


@router.get("/import/{job_id}")
def import_page(
    request: Request,
    admin: Annotated[Admin, Depends(allow("subscribers.import"))],
    job_id: JobId,
) -> Response:
    """The job's progress; once it ended, the rows not imported and their download."""
    shown = _job_or_404(request, job_id)
    if shown is None:
        return error_page(request, "Not found", f"No import {job_id}.", 404)
    return page(
        request,
        "import_job",
        {"title": f"Import {job_id}", "v": shown, "expected_max": KEEP_REJECTIONS},
        section="subscribers",
    )


@router.get("/import/{job_id}/progress")
def import_progress(
    request: Request,
    admin: Annotated[Admin, Depends(allow("subscribers.import"))],
    job_id: JobId,
) -> Response:
    """The progress block alone, for htmx; when the job ends the whole page reloads."""
    shown = _job_or_404(request, job_id, with_rejections=False)
    if shown is None:
        return Response(status_code=404)
    response = page(request, "_import_progress", {"v": shown}, section="subscribers")
    if shown.finished:
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/import/{job_id}/rejected.csv")
def import_rejected(
    request: Request,
    admin: Annotated[Admin, Depends(allow("subscribers.import"))],
    job_id: JobId,
) -> Response:
    """The rejected rows as they were in the upload, after their line number and error."""
    path = rejected_path(runtime(request).settings.imports_dir, job_id)
    if not path.exists():
        return error_page(request, "Not found", f"Import {job_id} has no rejected rows file.", 404)
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=f"import-{job_id}-rejected.csv",
        headers={"Cache-Control": "no-store"},
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
