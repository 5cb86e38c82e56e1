"""API documentation that works offline and shows each audience only its own routes.

`/docs` and `/openapi.json` describe the public routes (subscribe, archive,
links in emails, webhooks) to anyone; the full schema, admin routes included,
is at `/api/openapi.json` behind the admin token (web.admin). Swagger UI's
script and stylesheet come from the `fastapi-offline` package and are served
by this app, so the page needs no CDN and works without internet access.

Invariant: no path under ADMIN_PREFIX, no model only admin routes use and no
security scheme appears in the public schema (components are kept only when a
public path refers to them).
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ADMIN_PREFIX = "/api"
PUBLIC_SCHEMA_URL = "/openapi.json"
ADMIN_SCHEMA_URL = f"{ADMIN_PREFIX}/openapi.json"
DOCS_URL = "/docs"
DOCS_ASSETS_URL = "/docs/assets"  # swagger-ui-bundle.js, swagger-ui.css, favicon.png
DOCS_ASSETS_DIR = resources.files("fastapi_offline") / "static"
_SCHEMA_REF = "#/components/schemas/"

PUBLIC_DESCRIPTION = (
    "Public routes of a Broadsheet site. The admin API is described at "
    f"`{ADMIN_SCHEMA_URL}`, which needs `Authorization: Bearer $ADMIN_TOKEN`."
)


def install_docs(app: FastAPI) -> None:
    """Add /docs, its assets and the public /openapi.json (create the app with these off)."""
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=str(DOCS_ASSETS_DIR)), name="docs-assets")

    @app.get(PUBLIC_SCHEMA_URL, include_in_schema=False)
    def public_schema() -> JSONResponse:
        return JSONResponse(_public_openapi(app))

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=PUBLIC_SCHEMA_URL,
            title=f"{app.title} - API",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
        )


def full_openapi(app: FastAPI) -> dict[str, Any]:
    """Every route, admin ones included: only for a caller who holds the admin token."""
    return app.openapi()


def _public_openapi(app: FastAPI) -> dict[str, Any]:
    """The full schema less admin paths and every component only they refer to."""
    cached: dict[str, Any] | None = getattr(app.state, "public_openapi", None)
    if cached is None:
        full = copy.deepcopy(app.openapi())
        full["info"]["description"] = PUBLIC_DESCRIPTION
        full["paths"] = {p: v for p, v in full.get("paths", {}).items() if not _is_admin(p)}
        components = full.pop("components", {})
        schemas = components.get("schemas", {})
        kept = _referenced(full["paths"], schemas)
        if kept:
            full["components"] = {"schemas": {k: v for k, v in schemas.items() if k in kept}}
        cached = app.state.public_openapi = full
    return cached


def _referenced(node: object, schemas: dict[str, Any]) -> set[str]:
    """Names of the component schemas `node` refers to, directly or through other schemas."""
    found: set[str] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
                name = ref.removeprefix(_SCHEMA_REF)
                if name not in found and name in schemas:
                    found.add(name)
                    todo.append(schemas[name])
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


def _is_admin(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(f"{ADMIN_PREFIX}/")
