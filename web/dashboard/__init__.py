"""The web admin under /admin: server-rendered pages for the people who run the newsletter.

Pages call the same domain functions as the CLI and the /api routes; this
package only reads forms, checks who may do what (auth.py, one dependency)
and renders templates/admin/. Every POST carries the session's CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def install(app: FastAPI) -> None:
    """Add the admin's routes and its error pages (login redirect, 403) to `app`."""
    from web.dashboard import (
        account,
        audit,
        auth,
        cache,
        campaigns,
        desk,
        feeds,
        home,
        login,
        sites,
        sponsors,
        subscribers,
        users,
    )

    cache.configure(app.state.runtime.settings.admin_cache_seconds)
    router = APIRouter(prefix="/admin", include_in_schema=False)
    modules = (login, campaigns, subscribers, feeds, sponsors, desk, sites, audit, users, account)
    for module in modules:
        router.include_router(module.router)
    app.include_router(router)
    app.include_router(home.router)
    auth.install_handlers(app)
