"""The admin API under /api, behind `Authorization: Bearer $ADMIN_TOKEN`.

Each domain adds its routes in its own module here; this package only
assembles them behind the token check.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from web.docs import full_openapi

_bearer = HTTPBearer(auto_error=False, description="The ADMIN_TOKEN setting")


def require_admin(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> None:
    expected = request.app.state.runtime.settings.admin_token
    # compare_digest: the time taken must not reveal how much of the token matched.
    if credentials is None or not hmac.compare_digest(
        credentials.credentials.encode(), expected.encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="admin token missing or wrong",
            headers={"WWW-Authenticate": "Bearer"},
        )


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
