"""Admin accounts in the browser: owners list, add and remove admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from accounts.passwords import WeakPassword
from accounts.users import AccountError, add_user, list_users, parse_role, remove_user
from subscribers.addresses import InvalidEmail
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.render import page, redirect

router = APIRouter()


def _show(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    with runtime(request).db.session() as session:
        users = [
            {"email": u.email, "role": u.role.value, "last_login_at": u.last_login_at}
            for u in list_users(session)
        ]
    return page(
        request,
        "users",
        {"title": "Admins", "users": users, "error": error},
        section="users",
        status_code=status_code,
    )


@router.get("/users")
def users_page(request: Request, admin: Annotated[Admin, Depends(allow("read"))]) -> Response:
    return _show(request)


@router.post("/users")
def add(
    request: Request,
    admin: Annotated[Admin, Depends(allow("users.manage"))],
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[str, Form()],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        with runtime(request).db.session() as session:
            user = add_user(session, email, password, parse_role(role), admin.actor)
            added = f"Added {user.email} as {user.role.value}."
    except (AccountError, WeakPassword, InvalidEmail) as exc:
        return _show(request, str(exc), 422)
    return redirect(request, "/admin/users", added)


@router.post("/users/remove")
def remove(
    request: Request,
    admin: Annotated[Admin, Depends(allow("users.manage"))],
    email: Annotated[str, Form(max_length=320)],
) -> Response:
    try:
        with runtime(request).db.session() as session:
            remove_user(session, email, admin.actor)
    except AccountError as exc:
        return _show(request, str(exc), 422)
    return redirect(request, "/admin/users", f"Removed {email}.")
