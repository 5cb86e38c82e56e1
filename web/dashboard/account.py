"""The admin's own account page: their per-user API tokens (accounts/api_tokens.py).

Any role manages its own tokens; a token acts with that role on /api. A new
token's secret is shown once, in the answer to the POST that made it (never
in the session cookie's notice, which is signed, not encrypted).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from accounts import api_tokens
from accounts.audit import record
from db.models import MAX_ID, AdminUser
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.render import page, redirect

router = APIRouter(prefix="/account")
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _show(request: Request, admin: Admin, new_secret: str | None = None) -> Response:
    with runtime(request).db.session() as session:
        tokens = [
            {
                "id": t.id,
                "name": t.name,
                "hint": t.hint,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "revoked_at": t.revoked_at,
            }
            for t in api_tokens.of_user(session, admin.id)
        ]
    return page(
        request,
        "account",
        {"title": "Your account", "tokens": tokens, "new_secret": new_secret},
        section="account",
    )


@router.get("")
def account_page(request: Request, admin: Annotated[Admin, Depends(allow("read"))]) -> Response:
    return _show(request, admin)


@router.post("/tokens")
def create_token(
    request: Request,
    admin: Annotated[Admin, Depends(allow("read"))],
    name: Annotated[str, Form(max_length=api_tokens.NAME_MAX)] = "",
) -> Response:
    with runtime(request).db.session() as session:
        user = session.get(AdminUser, admin.id)
        assert user is not None  # allow() has just loaded it
        token, secret = api_tokens.create(session, user, name)
        record(session, admin.actor, "api_token.create", f"api_token:{token.id}", name=token.name)
    return _show(request, admin, secret)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, admin: Annotated[Admin, Depends(allow("read"))], token_id: TokenId
) -> Response:
    with runtime(request).db.session() as session:
        token = api_tokens.revoke(session, admin.id, token_id)
        if token is not None:
            record(session, admin.actor, "api_token.revoke", f"api_token:{token_id}")
    note = "Token revoked." if token is not None else "No such live token of yours."
    return redirect(request, "/admin/account", note)
