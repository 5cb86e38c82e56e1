"""The reports through the admin API, behind the bearer token."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from config.runtime import Runtime
from db.models import Delivery, SponsorClick
from tests.support.sendgrid_events import add_people, deliveries_by_email, send_campaign
from web.app import create_app


def client_for(runtime: Runtime) -> tuple[TestClient, dict[str, str]]:
    return TestClient(create_app(runtime)), {
        "Authorization": f"Bearer {runtime.settings.admin_token}"
    }


def test_reports_need_the_admin_token(runtime: Runtime) -> None:
    client, _ = client_for(runtime)
    for path in [
        "/api/reports/campaigns/1",
        "/api/reports/campaigns/1/plot.png",
        "/api/reports/sponsors",
    ]:
        assert client.get(path).status_code == 401


def test_the_campaign_report_and_plot_over_the_api(runtime: Runtime) -> None:
    add_people(runtime, ["ada@example.org", "ben@example.org"])
    cid = send_campaign(runtime, subject="Evening notes")
    client, token = client_for(runtime)
    report = client.get(f"/api/reports/campaigns/{cid}", headers=token)
    assert report.status_code == 200
    data = report.json()
    assert (data["subject"], data["audience"], data["sent"]) == ("Evening notes", 2, 2)
    assert data["opens"]["unreliable"] is False
    plot = client.get(f"/api/reports/campaigns/{cid}/plot.png", headers=token)
    assert plot.headers["content-type"] == "image/png"
    assert plot.content.startswith(b"\x89PNG")
    assert client.get("/api/reports/campaigns/999", headers=token).status_code == 404
    assert client.get("/api/reports/campaigns/999/plot.png", headers=token).status_code == 404
    too_big = f"/api/reports/campaigns/{2**63}"
    assert client.get(too_big, headers=token).status_code == 422


def test_the_sponsor_report_over_the_api(runtime: Runtime) -> None:
    add_people(runtime, ["ada@example.org"])
    cid = send_campaign(runtime)
    (delivery_id,) = deliveries_by_email(runtime, cid).values()
    with runtime.db.session() as session:
        shown = session.get_one(Delivery, delivery_id)
        assert shown.sponsor_name
        session.add(
            SponsorClick(sponsor_name=shown.sponsor_name, campaign_id=cid, delivery_id=delivery_id)
        )
    client, token = client_for(runtime)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    (row,) = client.get(f"/api/reports/sponsors?from={today}&to={today}", headers=token).json()
    assert (row["impressions"], row["clicks"], row["ctr"]) == (1, 1, 1.0)
    assert client.get("/api/reports/sponsors?from=2030-01-01", headers=token).json() == []
    backwards = client.get("/api/reports/sponsors?from=2026-11-02&to=2026-11-01", headers=token)
    assert backwards.status_code == 422
    assert client.get("/api/reports/sponsors?from=yesterday", headers=token).status_code == 422
