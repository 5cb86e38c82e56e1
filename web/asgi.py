"""ASGI entry point for uvicorn: `uvicorn web.asgi:app`."""

from config.startup import freeze_startup_objects
from web import access_log
from web.app import create_app

access_log.install()
app = create_app()

freeze_startup_objects()
