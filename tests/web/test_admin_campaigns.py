"""The admin campaign API: create, send or schedule, status, pause/resume/cancel, test-send."""

from __future__ import annotations

from fastapi.testclient import TestClient

from config.runtime import Runtime
from tests.support.seed import seed_subscribers
from web.app import create_app


def client(runtime: Runtime) -> TestClient:
    c = TestClient(create_app(runtime))
    c.headers["Authorization"] = f"Bearer {runtime.settings.admin_token}"
    return c


def create(c: TestClient) -> int:
    response = c.post("/api/campaigns", json={"lists": ["videos"], "subject": "Hello"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_create_then_send_delivers_and_reports_counts(runtime: Runtime) -> None:
    seed_subscribers(runtime.db, 4)
    c = client(runtime)
    campaign_id = create(c)
    assert c.post(f"/api/campaigns/{campaign_id}/send").status_code == 202
    body = c.get(f"/api/campaigns/{campaign_id}").json()
    assert body["status"] == "sent"
    assert body["deliveries"]["sent"] == body["total"] == body["done"] == 4


def test_schedule_then_cancel(runtime: Runtime) -> None:
    c = client(runtime)
    campaign_id = create(c)
    response = c.post(
        f"/api/campaigns/{campaign_id}/send",
        json={"at": "2099-01-01T09:00:00+00:00", "local_time": "09:00"},
    )
    assert response.status_code == 202 and response.json()["status"] == "scheduled"
    assert c.post(f"/api/campaigns/{campaign_id}/cancel").json()["status"] == "cancelled"


def test_wrong_state_is_409_and_unknown_campaign_404(runtime: Runtime) -> None:
    c = client(runtime)
    campaign_id = create(c)
    pause = c.post(f"/api/campaigns/{campaign_id}/pause")
    assert pause.status_code == 409 and "only a sending campaign" in pause.json()["detail"]
    assert c.post(f"/api/campaigns/{campaign_id}/resume").status_code == 409
    assert c.get("/api/campaigns/999").status_code == 404
    assert c.post("/api/campaigns/999/send").status_code == 404
    bad = c.post(f"/api/campaigns/{campaign_id}/send", json={"local_time": "nine"})
    assert bad.status_code == 409 and "HH:MM" in bad.json()["detail"]


def test_create_with_an_unknown_list_is_422(runtime: Runtime) -> None:
    response = client(runtime).post("/api/campaigns", json={"lists": ["nope"]})
    assert response.status_code == 422 and "unknown list" in response.text


def test_test_send_mails_one_copy(runtime: Runtime) -> None:
    c = client(runtime)
    campaign_id = create(c)
    response = c.post(f"/api/campaigns/{campaign_id}/test", json={"to": "editor@example.org"})
    assert response.status_code == 202
    [copy] = runtime.settings.outbox_dir.glob("*.eml")
    assert "[TEST] Hello" in copy.read_text()
    assert (
        c.post(f"/api/campaigns/{campaign_id}/test", json={"to": "not-an-address"}).status_code
        == 422
    )


def test_lifecycle_routes_need_the_token(runtime: Runtime) -> None:
    anonymous = TestClient(create_app(runtime))
    assert anonymous.post("/api/campaigns", json={}).status_code == 401
    assert anonymous.post("/api/campaigns/1/send").status_code == 401


def test_send_at_a_time_in_the_past_is_422_and_changes_nothing(runtime: Runtime) -> None:
    c = client(runtime)
    campaign_id = create(c)
    response = c.post(
        f"/api/campaigns/{campaign_id}/send", json={"at": "2026-01-05T09:00:00+00:00"}
    )
    assert response.status_code == 422
    assert "is in the past" in response.json()["detail"]
    assert c.get(f"/api/campaigns/{campaign_id}").json()["status"] == "draft"
