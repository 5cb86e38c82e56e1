from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from config.runtime import Runtime
from tests.support.mail import messages
from web.app import create_app


@pytest.fixture
def admin(runtime: Runtime) -> Iterator[TestClient]:
    token = {"Authorization": f"Bearer {runtime.settings.admin_token}"}
    with TestClient(create_app(runtime), headers=token) as client:
        yield client


def test_subscriber_routes_need_the_token(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    assert client.get("/api/subscribers").status_code == 401
    assert client.post("/api/subscribers/erase", json={"email": "a@example.org"}).status_code == 401


def test_add_list_export_and_erase_through_the_api(admin: TestClient, runtime: Runtime) -> None:
    created = admin.post("/api/subscribers", json={"email": "Kai@Example.org", "lists": ["weekly"]})
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    assert len(messages(runtime.settings.outbox_dir)) == 1
    admin.post("/api/subscribers", json={"email": "lu@example.org", "confirmed": True})
    listed = admin.get("/api/subscribers", params={"status": "confirmed"}).json()
    assert [p["email"] for p in listed] == ["lu@example.org"]
    exported = admin.get("/api/subscribers/export")
    assert exported.headers["content-type"].startswith("text/csv")
    assert [r["email"] for r in csv.DictReader(io.StringIO(exported.text))] == [
        "kai@example.org",
        "lu@example.org",
    ]
    erased = admin.post("/api/subscribers/erase", json={"email": "kai@example.org"})
    assert erased.json()["found"] is True
    assert [p["email"] for p in admin.get("/api/subscribers").json()] == ["lu@example.org"]
    again = admin.post("/api/subscribers", json={"email": "kai@example.org"})
    assert again.status_code == 409


def test_bad_input_is_a_422_with_the_reason(admin: TestClient) -> None:
    answer = admin.post("/api/subscribers", json={"email": "nope", "lists": ["videos"]})
    assert answer.status_code == 422 and "@-sign" in answer.json()["detail"]
    answer = admin.post("/api/subscribers", json={"email": "a@example.org", "lists": ["zzz"]})
    assert answer.status_code == 422 and "zzz" in answer.json()["detail"]


def test_import_through_the_api_reports_rejected_rows(admin: TestClient) -> None:
    body = "email,lists\nmo@example.org,videos\nbad-row,videos\nno@example.org,nolist\n"
    answer = admin.post(
        "/api/subscribers/import",
        params={"confirmed": "true"},
        content=body.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["added"], report["rejected"]) == (1, 2)
    assert [r["line"] for r in report["rejections"]] == [3, 4]
    headerless = admin.post("/api/subscribers/import", content=b"name\nx\n")
    assert headerless.status_code == 422


def test_the_api_refuses_a_non_ascii_mailbox_name_with_the_reason(
    admin: TestClient, runtime: Runtime
) -> None:
    refused = admin.post("/api/subscribers", json={"email": "jos\u00e9@example.org"})
    assert refused.status_code == 422
    assert "plain ASCII" in refused.json()["detail"]
    idn = admin.post("/api/subscribers", json={"email": "ana@b\u00fccher.example"})
    assert idn.status_code == 201 and idn.json()["email"] == "ana@xn--bcher-kva.example"
    assert [m["To"].addresses[0].addr_spec for m in messages(runtime.settings.outbox_dir)] == [
        "ana@xn--bcher-kva.example"
    ]
