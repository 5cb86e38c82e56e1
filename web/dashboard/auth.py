"""Who is asking and may they: the admin's one access check, as a FastAPI dependency.

`allow(action)` is the only gate of every admin route. It reads the session
cookie, refuses a POST whose CSRF token (form field `csrf_token` or header
`X-CSRF-Token`) is not the session's, loads the user (a removed user or an
old session epoch is logged out), and asks accounts.roles whether the role
may do `action`. Hiding a button is decoration; this is the rule.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from accounts.audit import Actor
from accounts.roles import allows
from config.runtime import Runtime
from db.models import AdminRole, AdminUser
from subscribers.ratelimit import RateLimiter, make_rate_limiter
from web.dashboard import session as sessions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# Login attempts per client address per minute, before the per-account lock-out.
LOGIN_ATTEMPTS_PER_MINUTE = 10


@dataclass(frozen=True)
class Admin:
    """The logged-in admin of this request."""

    id: int
    email: str
    role: AdminRole
    ip: str | None
    csrf: str

    @property
    def actor(self) -> Actor:
        return Actor(self.email, self.ip)

    def can(self, action: str) -> bool:
        return allows(self.role, action)


class LoginRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def client_ip(request: Request) -> str | None:
    # uvicorn's proxy_headers has already applied X-Forwarded-For from trusted proxies.
    return request.client.host if request.client else None


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def check_csrf(request: Request) -> None:
    """A state-changing request must echo the session's token; otherwise 403."""
    if request.method in SAFE_METHODS:
        return
    expected = sessions.load(request).csrf
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()  # cached by Starlette for the route's Form() fields
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden(
            "This form has expired or did not come from this site. "
            "Go back, reload the page and try again."
        )


def allow(action: str) -> Callable[[Request], Awaitable[Admin]]:
    """The dependency for a route that does `action` (see accounts.roles.PERMISSIONS)."""

    async def dependency(request: Request) -> Admin:
        await check_csrf(request)
        session = sessions.load(request)
        if session.user_id is None:
            raise LoginRequired()
        with runtime(request).db.session() as db_session:
            user = db_session.get(AdminUser, session.user_id)
            if user is None or user.session_epoch != session.epoch:
                raise LoginRequired()
            admin = Admin(user.id, user.email, user.role, client_ip(request), session.csrf)
        if not admin.can(action):
            raise Forbidden(
                f"Your role ({admin.role.value}) cannot do this. Ask an owner if you need to."
            )
        request.state.admin = admin
        return admin

    return dependency


def login_limiter(request: Request) -> RateLimiter:
    """One per app, made on first use: shared through Redis when there is one."""
    limiter: RateLimiter | None = getattr(request.app.state, "admin_login_limiter", None)
    if limiter is None:
        limiter = make_rate_limiter(LOGIN_ATTEMPTS_PER_MINUTE, runtime(request).settings.redis_url)
        request.app.state.admin_login_limiter = limiter
    return limiter


def install_handlers(app: FastAPI) -> None:
    from web.dashboard.render import error_page

    async def login_required(request: Request, exc: Exception) -> Response:
        target = "/admin/login"
        if request.method == "GET" and request.url.path != "/admin/login":
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += f"?next={quote(wanted, safe='')}"
        response: Response = RedirectResponse(target, status_code=303)
        if request.headers.get("hx-request"):
            response = Response(status_code=204, headers={"HX-Redirect": target})
        sessions.clear(response)
        return response

    async def forbidden(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, Forbidden) else "Forbidden"
        return error_page(request, "Not allowed", message, 403)

    handlers: dict[type[Exception], Any] = {LoginRequired: login_required, Forbidden: forbidden}
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
