"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from config.runtime import Runtime, get_runtime
from web.dev_secrets import LoopbackOnly, uses_development_secrets
from web.limits import BodyLimit


def create_app(runtime: Runtime | None = None) -> FastAPI:
    rt = runtime or get_runtime()
    app = FastAPI(
        title="Broadsheet",
        version="0.1.0",
        description="Self-hosted newsletter engine. Admin routes need "
        "`Authorization: Bearer $ADMIN_TOKEN`.",
        # web.docs serves these itself: public routes only, and no CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = rt
    # Outermost of our middleware: bodies are capped before any route or parser reads them.
    app.add_middleware(BodyLimit)
    if uses_development_secrets(rt.settings):
        # Added last, so it runs first: nothing is read or routed for a refused request.
        app.add_middleware(LoopbackOnly, settings=rt.settings)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        with rt.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": rt.db.engine.dialect.name}

    from web import archive, dashboard, public, sponsor_pages, tracking, webhooks
    from web.admin import admin_router
    from web.docs import install_docs
    from web.files import STATIC_DIR, STATIC_URL

    app.include_router(public.router)
    app.include_router(archive.router)
    app.include_router(tracking.router)
    app.include_router(sponsor_pages.router)
    app.include_router(webhooks.router)
    app.include_router(admin_router())
    install_docs(app)
    dashboard.install(app)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    return app
