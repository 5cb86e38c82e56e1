from __future__ import annotations

from fastapi.testclient import TestClient

from config.runtime import Runtime
from web.app import create_app


def test_healthz_reports_the_database(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": runtime.db.engine.dialect.name}
