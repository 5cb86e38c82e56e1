"""The admin API under /api, behind `Authorization: Bearer $ADMIN_TOKEN` or an admin's
own API token (accounts/api_tokens.py).

Each domain adds its routes in its own module here; this package only
assembles them behind the token check. ADMIN_TOKEN may do everything; a
per-user token may do what its user's role may (`api_action` names each
call's action in accounts/roles.py's table), and every call of one that
changes something is audited under the user's address.
"""

from __future__ import annotations

import hmac
import re

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accounts import api_tokens
from accounts.audit import Actor, record
from accounts.roles import allows
from web.docs import full_openapi

_bearer = HTTPBearer(
    auto_error=False, description="The ADMIN_TOKEN setting, or an admin's own API token"
)

# The action (accounts/roles.py) of each API call that is not a plain read.
_ACTIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"/api/subscribers/export"), "subscribers.export"),
    ("GET", re.compile(r"/api/campaigns/\d+/preview"), "campaign.preview"),
    ("POST", re.compile(r"/api/campaigns"), "campaign.create"),
    ("POST", re.compile(r"/api/campaigns/\d+/send"), "campaign.send"),
    ("POST", re.compile(r"/api/campaigns/\d+/pause"), "campaign.pause"),
    ("POST", re.compile(r"/api/campaigns/\d+/resume"), "campaign.resume"),
    ("POST", re.compile(r"/api/campaigns/\d+/cancel"), "campaign.cancel"),
    ("POST", re.compile(r"/api/campaigns/\d+/test"), "campaign.test"),
    ("POST", re.compile(r"/api/subscribers"), "subscribers.add"),
    ("POST", re.compile(r"/api/subscribers/import"), "subscribers.import"),
    ("POST", re.compile(r"/api/subscribers/erase"), "subscribers.erase"),
)
READS = ("GET", "HEAD")


def api_action(method: str, path: str) -> str:
    """The action an API call is; a call not named above that changes something is an
    owner's (the strictest), so a new route is never open to a lesser role by mistake."""
    for verb, pattern, action in _ACTIONS:
        if verb == method and pattern.fullmatch(path.rstrip("/")):
            return action
    return "read" if method in READS else "users.manage"


def _refused(detail: str, code: int = status.HTTP_401_UNAUTHORIZED) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(code, detail=detail, headers=headers)


def require_admin(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> None:
    rt = request.app.state.runtime
    if credentials is None:
        raise _refused("admin token missing or wrong")
    given = credentials.credentials
    # compare_digest: the time taken must not reveal how much of the token matched.
    if hmac.compare_digest(given.encode(), rt.settings.admin_token.encode()):
        return
    if not api_tokens.looks_like_token(given):
        raise _refused("admin token missing or wrong")
    with rt.db.session() as session:
        user = api_tokens.authenticate(session, given)
        if user is None:
            raise _refused("API token unknown or revoked")
        action = api_action(request.method, request.url.path)
        if not allows(user.role, action):
            raise _refused(
                f"this token acts as {user.email}, a {user.role.value}, who may not {action}",
                status.HTTP_403_FORBIDDEN,
            )
        if request.method not in READS:
            ip = request.client.host if request.client else None
            record(session, Actor(user.email, ip), f"api.{action}", request.url.path)


def admin_router() -> APIRouter:
    from web.admin import campaigns, reports, subscribers

    router = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])
    router.include_router(campaigns.router)
    router.include_router(subscribers.router)
    router.include_router(reports.router)

    @router.get("/openapi.json", include_in_schema=False)
    def admin_schema(request: Request) -> JSONResponse:
        """The whole schema, admin routes included (the public /openapi.json leaves them out)."""
        return JSONResponse(full_openapi(request.app))

    return router
