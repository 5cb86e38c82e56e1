"""Log in and out. Login is limited per client address and locks an account after
repeated failures (accounts.users); both are audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from accounts.audit import record
from accounts.users import authenticate, end_sessions
from db.models import AdminUser
from web.dashboard import session as sessions
from web.dashboard.auth import Admin, allow, check_csrf, client_ip, login_limiter, runtime
from web.dashboard.render import page, redirect

router = APIRouter()


def _safe_next(value: str | None) -> str:
    # Only paths inside the admin: never an open redirect to another site.
    if value and value.startswith("/admin") and not value.startswith("//"):
        return value
    return "/admin"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return page(request, "login", {"title": "Log in", "next": _safe_next(next)})


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    await check_csrf(request)
    ip = client_ip(request)
    context = {"title": "Log in", "next": _safe_next(next), "email": email}
    decision = login_limiter(request).hit(f"admin-login:{ip}")
    if not decision.allowed:
        response = page(
            request,
            "login",
            {
                **context,
                "error": f"Too many attempts. Try again in {decision.retry_after} seconds.",
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(decision.retry_after)
        return response
    with runtime(request).db.session() as db_session:
        result = authenticate(db_session, email, password, ip)
        user = result.user
        if user is not None:
            sessions.load(request).log_in(user.id, user.session_epoch)
    if user is None:
        error = "That address and password do not match an admin account."
        if result.locked_until is not None:
            error = (
                "Too many failed attempts: this account is locked until "
                f"{result.locked_until:%H:%M} UTC."
            )
        return page(request, "login", {**context, "error": error}, status_code=401)
    return redirect(request, _safe_next(next))


@router.post("/logout")
def logout(request: Request, admin: Annotated[Admin, Depends(allow("read"))]) -> Response:
    """Ends every session of this admin (their epoch goes up), then the login page."""
    with runtime(request).db.session() as db_session:
        user = db_session.get(AdminUser, admin.id)
        if user is not None:
            end_sessions(db_session, user)
        record(db_session, admin.actor, "logout", f"admin:{admin.id}")
    response = redirect(request, "/admin/login")
    sessions.clear(response)
    return response
