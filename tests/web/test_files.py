"""The web app serves the files the project ships (the demo's thumbnails) and nothing else."""

from __future__ import annotations

from fastapi.testclient import TestClient

from config.runtime import Runtime
from web.app import create_app
from web.files import DEMO_THUMBNAILS_DIR, DEMO_THUMBNAILS_URL


def test_the_demo_thumbnails_are_served_as_png(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    files = sorted(DEMO_THUMBNAILS_DIR.glob("*.png"))
    assert files
    for path in files:
        response = client.get(f"{DEMO_THUMBNAILS_URL}/{path.name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content == path.read_bytes()


def test_nothing_outside_the_static_folder_is_served(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    assert client.get(f"{DEMO_THUMBNAILS_URL}/../../files.py").status_code == 404
    assert client.get("/static/%2e%2e/files.py").status_code == 404
    assert client.get(f"{DEMO_THUMBNAILS_URL}/missing.png").status_code == 404
