"""ASGI entry point for uvicorn: `uvicorn web.asgi:app`.

Settings are checked before the app is built: a bad value ends uvicorn with one
line on stderr instead of an import traceback.
"""

from config.startup import freeze_startup_objects, settings_or_exit
from web import access_log
from web.app import create_app

settings_or_exit()
access_log.install()
app = create_app()

freeze_startup_objects()
