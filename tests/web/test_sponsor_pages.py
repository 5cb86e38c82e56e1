"""The sponsor's public pages: the signed link is the key; forms refuse foreign origins
and bad fields; nothing is read for a refused link."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from accounts.audit import Actor
from config.runtime import Runtime
from db.models import BookingState
from sponsorship import creative, inventory
from sponsorship.links import intake_token, report_token
from tests.campaigns.sample_edition import evergreen_site
from web.app import create_app

CREATOR = Actor("creator@example.org")
FORM = {
    "headline": "Maps",
    "text": "Paper maps.",
    "url": "https://foldmaps.example/",
    "cta": "See the maps",
    "image_url": "",
}


@pytest.fixture
def booking(runtime: Runtime) -> int:
    runtime.__dict__["site"] = evergreen_site()
    with runtime.db.session() as session:
        sponsor = inventory.add_sponsor(session, "Foldmaps", CREATOR)
        day = dt.date(2026, 12, 9)
        made = inventory.book_flight(session, sponsor.id, day, day, CREATOR)
        inventory.move(session, made, BookingState.awaiting_creative, CREATOR)
        return made.id


def test_the_intake_form_refuses_a_post_from_another_site(runtime: Runtime, booking: int) -> None:
    client = TestClient(create_app(runtime))
    path = f"/sponsor/intake/{intake_token(runtime.settings.secret_key, booking)}"
    answer = client.post(path, data=FORM, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "another site" in answer.text
    with runtime.db.session() as session:
        assert creative.versions(session, booking) == []
    ok = client.post(path, data=FORM, headers={"Origin": "http://testserver"})
    assert ok.status_code == 200 and "version 1 was received" in ok.text


def test_bad_fields_are_shown_next_to_the_form(runtime: Runtime, booking: int) -> None:
    client = TestClient(create_app(runtime))
    path = f"/sponsor/intake/{intake_token(runtime.settings.secret_key, booking)}"
    answer = client.post(path, data={**FORM, "url": "javascript:alert(1)", "text": ""})
    assert answer.status_code == 422
    assert "Link must start with https://" in answer.text and "Text is required" in answer.text
    assert 'value="javascript:alert(1)"' in answer.text  # kept for correction, escaped


def test_one_purpose_cannot_open_the_other(runtime: Runtime, booking: int) -> None:
    client = TestClient(create_app(runtime))
    secret = runtime.settings.secret_key
    assert client.get(f"/sponsor/report/{intake_token(secret, booking)}").status_code == 403
    assert client.get(f"/sponsor/intake/{report_token(secret, booking)}").status_code == 403
    assert client.get(f"/sponsor/report/{report_token(secret, booking)}").status_code == 200
    assert client.get(f"/sponsor/report/{report_token(secret, 999)}").status_code == 403
