"""Admin API: subscribers (add, list, import, export, erase)."""

from __future__ import annotations

import io
import tempfile
from typing import IO, Any, cast

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from config.runtime import Runtime
from db.models import MAX_ID, SubscriberStatus
from subscribers import queries
from subscribers.addresses import InvalidEmail
from subscribers.erasure import erase
from subscribers.exporting import csv_chunks
from subscribers.importing import ImportFileError, import_csv
from subscribers.service import Suppressed
from subscribers.signup import UnknownList, add_by_admin
from tasks.subscribers import enqueue_confirmation

router = APIRouter(prefix="/subscribers", tags=["subscribers"])

# Uploads are spooled to disk past this size, so a large CSV never sits in memory.
SPOOL_BYTES = 1 << 20


class SubscriberIn(BaseModel):
    email: str = Field(max_length=320)
    lists: list[str] = Field(default_factory=list)
    name: str | None = Field(default=None, max_length=200)
    confirmed: bool = False


class SubscriberOut(BaseModel):
    id: int
    email: str
    name: str | None
    status: str
    lists: list[str]
    cadence: str
    timezone: str | None
    country: str | None
    created_at: str
    confirmed_at: str | None


class EraseIn(BaseModel):
    email: str = Field(max_length=320)


class EraseOut(BaseModel):
    found: bool
    email_hash: str
    suppression: str


class RejectionOut(BaseModel):
    line: int
    reason: str


class ImportOut(BaseModel):
    rows: int
    added: int
    existing: int
    duplicates: int
    suppressed: int
    rejected: int
    rejections: list[RejectionOut] = Field(description="The first 1000 rejected rows.")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.post("", response_model=SubscriberOut, status_code=status.HTTP_201_CREATED)
def add(body: SubscriberIn, request: Request, background: BackgroundTasks) -> Any:
    """Add a subscriber; unless `confirmed`, they get a confirmation email first."""
    rt = _runtime(request)
    try:
        with rt.db.session() as session:
            person, confirm_id = add_by_admin(
                session,
                rt.site,
                body.email,
                body.lists,
                source="api",
                confirmed=body.confirmed,
                name=body.name,
            )
            out = queries.summary(person, queries.lists_of(session, person.id)).as_dict()
    except (InvalidEmail, UnknownList) as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except Suppressed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    if confirm_id is not None:
        background.add_task(enqueue_confirmation, confirm_id)
    return out


@router.get("", response_model=list[SubscriberOut])
def list_subscribers(
    request: Request,
    after: int = Query(
        0, ge=0, le=MAX_ID, description="Return subscribers with a larger id (paging)."
    ),
    limit: int = Query(100, ge=1, le=1000),
    status_: SubscriberStatus | None = Query(None, alias="status"),
    list_slug: str | None = Query(None, alias="list"),
) -> Any:
    """Subscribers by id; pass the last id as `after` for the next page."""
    with _runtime(request).db.session() as session:
        rows = queries.page(
            session, after_id=after, limit=limit, status=status_, list_slug=list_slug
        )
    return [r.as_dict() for r in rows]


@router.post("/import", response_model=ImportOut)
async def import_subscribers(
    request: Request,
    lists: list[str] = Query(default_factory=list, alias="list"),
    confirmed: bool = False,
) -> Any:
    """Import the request body as CSV (`Content-Type: text/csv`); same columns as the CLI."""
    rt = _runtime(request)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        stream = io.TextIOWrapper(
            cast(IO[bytes], spool), encoding="utf-8-sig", errors="replace", newline=""
        )
        try:
            report = await run_in_threadpool(
                import_csv, rt.db, rt.site, stream, lists=lists, confirmed=confirmed
            )
        except (ImportFileError, UnknownList) as exc:
            raise HTTPException(422, detail=str(exc)) from None
    return report.as_dict()


@router.get("/export", response_class=StreamingResponse)
def export(request: Request) -> StreamingResponse:
    """Every subscriber as CSV, streamed."""
    return StreamingResponse(
        csv_chunks(_runtime(request).db),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'},
    )


@router.post("/erase", response_model=EraseOut)
def erase_person(body: EraseIn, request: Request) -> Any:
    """Erase a person's data; a hashed suppression entry stays. The address is in the
    body, not the URL, so it never lands in access logs."""
    try:
        with _runtime(request).db.session() as session:
            result = erase(session, body.email)
    except InvalidEmail as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {
        "found": result.found,
        "email_hash": result.email_hash,
        "suppression": result.suppression_reason,
    }
