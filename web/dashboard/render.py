"""Rendering admin pages: one template environment, the shared context, the cookie.

Every page gets `admin` (or None on the login page), the session's `csrf`
token for its forms, the navigation and a one-time `flash` notice; the
session cookie is written here whenever the request changed it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from campaigns.templating import TEMPLATES_DIR
from config.site import SiteConfigError
from web.dashboard import session as sessions
from web.files import STATIC_URL

templates = Jinja2Templates(directory=TEMPLATES_DIR)

NAV = [
    ("home", "Dashboard", "/admin"),
    ("campaigns", "Campaigns", "/admin/campaigns"),
    ("subscribers", "Subscribers", "/admin/subscribers"),
    ("feeds", "Feeds", "/admin/feeds"),
    ("sponsors", "Sponsors", "/admin/sponsors"),
    ("site", "Site", "/admin/site"),
    ("audit", "Audit log", "/admin/audit"),
    ("users", "Admins", "/admin/users"),
]


def _when(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> str:
    if value is None:
        return "-"
    return value.astimezone(tz or dt.UTC).strftime("%Y-%m-%d %H:%M")


templates.env.filters["when"] = _when
templates.env.filters["thousands"] = lambda n: f"{int(n):,}"
templates.env.filters["percent"] = lambda x: f"{100 * float(x):.1f}%"


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    section: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    session = sessions.load(request)
    rt = request.app.state.runtime
    try:
        newsletter_name = rt.site.newsletter.name
        tz = rt.site.newsletter.tz
    except SiteConfigError:  # the Site page shows a broken site file; pages must still render
        newsletter_name, tz = "Broadsheet", dt.UTC
    base = {
        "admin": getattr(request.state, "admin", None),
        "csrf": session.csrf,
        "flash": session.take_flash(),
        "nav": NAV,
        "section": section,
        "static": STATIC_URL,
        "newsletter_name": newsletter_name,
        "tz": tz,
    }
    response = templates.TemplateResponse(
        request, f"admin/{name}.html", {**base, **context}, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return sessions.save(request, response)  # type: ignore[return-value]


def redirect(request: Request, url: str, flash: str | None = None) -> Response:
    """After a POST: see the result at `url` (303), with a notice on that page."""
    if flash:
        sessions.load(request).say(flash)
    return sessions.save(request, RedirectResponse(url, status_code=303))


def error_page(request: Request, title: str, message: str, status_code: int) -> HTMLResponse:
    return page(request, "error", {"title": title, "message": message}, status_code=status_code)
