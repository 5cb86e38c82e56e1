"""Where the web app's own static files live and the URL they are served under.

One place for both, so a change of layout (packaging) touches only this module.
Only files the project ships live here (the demo's thumbnails); nothing a user
uploads, so serving the folder as it is reveals nothing.
"""

from __future__ import annotations

from config.resources import bundled

STATIC_DIR = bundled("web", "static")
STATIC_URL = "/static"
DEMO_THUMBNAILS_DIR = STATIC_DIR / "demo"
DEMO_THUMBNAILS_URL = f"{STATIC_URL}/demo"
