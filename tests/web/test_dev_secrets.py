"""With the development secrets, the app answers on loopback only, however it was started."""

from __future__ import annotations

from fastapi.testclient import TestClient

from config.runtime import Runtime
from config.settings import DEV_ADMIN_TOKEN, DEV_SECRET_KEY, Settings
from db.engine import Database
from web.app import create_app


def _app_with(settings: Settings, db: Database, **secrets: str) -> TestClient:
    rt = Runtime(settings.model_copy(update=secrets))
    rt.__dict__["db"] = db
    return TestClient(create_app(rt), base_url="http://192.0.2.10:8000")  # a public address


def test_a_request_on_a_public_address_with_development_secrets_is_refused(
    settings: Settings, db: Database
) -> None:
    client = _app_with(settings, db, secret_key=DEV_SECRET_KEY, admin_token=DEV_ADMIN_TOKEN)
    for path in ("/", "/healthz", "/api/subscribers"):
        response = client.get(path, headers={"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"})
        assert response.status_code == 503
        assert response.text.startswith(
            "refusing to listen on 192.0.2.10 with the development SECRET_KEY and ADMIN_TOKEN"
        )
    assert client.post("/subscribe", data={"email": "a@example.org"}).status_code == 503


def test_only_the_development_admin_token_is_enough_to_refuse(
    settings: Settings, db: Database
) -> None:
    client = _app_with(settings, db, admin_token=DEV_ADMIN_TOKEN)
    response = client.get("/healthz")
    assert response.status_code == 503 and "development ADMIN_TOKEN" in response.text


def test_real_secrets_answer_on_any_address(settings: Settings, db: Database) -> None:
    client = _app_with(settings, db)
    assert client.get("/healthz").status_code == 200


def test_development_secrets_answer_on_loopback(settings: Settings, db: Database) -> None:
    rt = Runtime(
        settings.model_copy(update={"secret_key": DEV_SECRET_KEY, "admin_token": DEV_ADMIN_TOKEN})
    )
    rt.__dict__["db"] = db
    client = TestClient(create_app(rt), base_url="http://127.0.0.1:8000")
    assert client.get("/healthz").status_code == 200
