"""The audit log page: every admin action, newest first, keyset-paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from accounts import audit
from db.models import MAX_ID
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.render import page

router = APIRouter()
PAGE = 50


@router.get("/audit")
def audit_log(
    request: Request,
    admin: Annotated[Admin, Depends(allow("read"))],
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    with runtime(request).db.session() as session:
        entries = audit.page(session, before_id=before, limit=PAGE + 1)
        rows = [
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "ip": e.ip,
                "detail": e.detail,
            }
            for e in entries[:PAGE]
        ]
    more = rows[-1]["id"] if len(entries) > PAGE else None
    return page(
        request,
        "audit",
        {"title": "Audit log", "rows": rows, "more": more},
        section="audit",
    )
