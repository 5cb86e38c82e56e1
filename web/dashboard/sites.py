"""The site file as loaded, with its validation error if it does not load.

The file is read again on every visit (not the process's cached copy), so an
edit shows its error here before a restart would fail with it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from config.site import SiteConfigError, load_site
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.render import page

router = APIRouter(prefix="/site")


@router.get("")
def site_page(request: Request, admin: Annotated[Admin, Depends(allow("read"))]) -> Response:
    rt = runtime(request)
    path = rt.settings.site_config_path()
    error = None
    loaded = None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        text, error = "", f"cannot read {path}: {exc.strerror}"
    if error is None:
        try:
            loaded = load_site(path)
        except SiteConfigError as exc:
            error = str(exc)
    return page(
        request,
        "site",
        {
            "title": "Site file",
            "path": str(path),
            "text": text,
            "error": error,
            "loaded": loaded,
        },
        section="site",
    )
