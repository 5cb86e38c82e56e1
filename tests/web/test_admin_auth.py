from __future__ import annotations

from fastapi.testclient import TestClient

from config.runtime import Runtime
from web.app import create_app


def test_admin_api_needs_the_token(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    assert client.get("/api/campaigns").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/api/campaigns", headers=wrong).status_code == 401


def test_admin_api_accepts_the_token(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    token = {"Authorization": f"Bearer {runtime.settings.admin_token}"}
    response = client.get("/api/campaigns", headers=token)
    assert response.status_code == 200
    assert response.json() == []


def test_the_admin_api_is_described_by_openapi_for_the_admin(runtime: Runtime) -> None:
    token = {"Authorization": f"Bearer {runtime.settings.admin_token}"}
    schema = TestClient(create_app(runtime)).get("/api/openapi.json", headers=token).json()
    assert "/api/campaigns" in schema["paths"]
