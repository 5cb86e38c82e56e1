"""The admin's session: a signed cookie holding the user id, their session epoch and
a CSRF token (itsdangerous, salt `broadsheet.admin-session`).

Invariants: the cookie is HttpOnly, SameSite=Lax, scoped to /admin, and Secure
when BASE_URL is https; it expires after MAX_AGE; a cookie whose epoch is not
the user's current `session_epoch` is worthless (logout raises the epoch).
A visitor without a cookie gets an anonymous one (user None) carrying the CSRF
token the login form needs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from config.runtime import Runtime

COOKIE = "broadsheet_admin"
SALT = "broadsheet.admin-session"
MAX_AGE = 12 * 3600
PATH = "/admin"


@dataclass
class AdminSession:
    user_id: int | None
    epoch: int
    csrf: str
    flash: str | None = None
    changed: bool = field(default=False, compare=False)

    @classmethod
    def anonymous(cls) -> AdminSession:
        return cls(None, 0, secrets.token_urlsafe(32), changed=True)

    def log_in(self, user_id: int, epoch: int) -> None:
        # A new CSRF token at login: a token seen before login is worth nothing after.
        self.user_id, self.epoch, self.csrf = user_id, epoch, secrets.token_urlsafe(32)
        self.changed = True

    def say(self, message: str) -> None:
        """A one-line notice for the next page shown."""
        self.flash = message
        self.changed = True

    def take_flash(self) -> str | None:
        message, self.flash = self.flash, None
        if message is not None:
            self.changed = True
        return message


def _serializer(rt: Runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(rt.settings.secret_key, salt=SALT)


def load(request: Request) -> AdminSession:
    """The request's session, read once and kept on request.state."""
    cached: AdminSession | None = getattr(request.state, "admin_session", None)
    if cached is not None:
        return cached
    rt: Runtime = request.app.state.runtime
    raw = request.cookies.get(COOKIE)
    session = AdminSession.anonymous()
    if raw:
        try:
            data = _serializer(rt).loads(raw, max_age=MAX_AGE)
            session = AdminSession(data["u"], int(data["e"]), str(data["c"]), data.get("f"))
        except (BadSignature, KeyError, TypeError, ValueError):
            pass
    request.state.admin_session = session
    return session


def save(request: Request, response: Response) -> Response:
    """Write the cookie if the session changed during this request."""
    session: AdminSession | None = getattr(request.state, "admin_session", None)
    if session is None or not session.changed:
        return response
    rt: Runtime = request.app.state.runtime
    value = _serializer(rt).dumps(
        {"u": session.user_id, "e": session.epoch, "c": session.csrf, "f": session.flash}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=rt.base_url.startswith("https://"),
    )
    return response


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH)
