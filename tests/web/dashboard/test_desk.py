"""The sponsor desk's admin routes: who may do what, and what the pages say."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.runtime import Runtime
from db.models import Booking, utcnow
from tests.campaigns.sample_edition import evergreen_site
from tests.sponsorship.desk import approved_slot

Login = Callable[[str], tuple[TestClient, str]]


def test_a_viewer_reads_the_desk_but_cannot_book(as_role: Login, runtime: Runtime) -> None:
    client, csrf = as_role("viewer")
    page = client.get("/admin/sponsors/desk")
    assert page.status_code == 200 and "Sponsor desk" in page.text
    assert "Add sponsor" not in page.text
    refused = client.post("/admin/sponsors/accounts", data={"name": "X", "csrf_token": csrf})
    assert refused.status_code == 403 and "cannot do this" in refused.text


def test_an_editor_runs_the_desk_but_only_an_owner_sets_revenue(
    as_role: Login, runtime: Runtime
) -> None:
    site = evergreen_site()
    runtime.__dict__["site"] = site
    _, booking_id = approved_slot(runtime.db, site, utcnow().date())
    client, csrf = as_role("editor")
    page = client.get(f"/admin/sponsors/bookings/{booking_id}")
    assert page.status_code == 200
    assert "Version 1" in page.text and "Save revenue" not in page.text
    revenue = {"price": "250.00", "currency": "eur", "invoice_ref": "INV-7", "paid": "1"}
    refused = client.post(
        f"/admin/sponsors/bookings/{booking_id}/revenue", data={**revenue, "csrf_token": csrf}
    )
    assert refused.status_code == 403
    client, csrf = as_role("owner")
    saved = client.post(
        f"/admin/sponsors/bookings/{booking_id}/revenue",
        data={**revenue, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with runtime.db.session() as session:
        booking = session.get_one(Booking, booking_id)
        assert (booking.price_cents, booking.currency, booking.invoice_ref, booking.paid) == (
            25000, "EUR", "INV-7", True,
        )  # fmt: skip
    page = client.get(f"/admin/sponsors/bookings/{booking_id}").text
    assert "250.00 EUR" in page and "invoice INV-7" in page and "· paid" in page


def test_booking_a_sold_slot_says_so(as_role: Login, runtime: Runtime) -> None:
    site = evergreen_site()
    runtime.__dict__["site"] = site
    slot_id, _ = approved_slot(runtime.db, site, utcnow().date())
    client, csrf = as_role("editor")
    client.post("/admin/sponsors/accounts", data={"name": "Rival", "csrf_token": csrf})
    with runtime.db.session() as session:
        from db.models import SponsorAccount

        rival = session.scalar(select(SponsorAccount.id).where(SponsorAccount.name == "Rival"))
    answer = client.post(
        "/admin/sponsors/bookings",
        data={"sponsor_id": str(rival), "slot_id": str(slot_id), "csrf_token": csrf},
    )
    assert answer.status_code == 422 and f"slot {slot_id} is already booked" in answer.text
    calendar = client.get(f"/admin/sponsors/calendar?month={utcnow().date():%Y-%m}").text
    assert "sold to Foldmaps" in calendar


def test_an_editor_books_a_flight_from_the_desk(as_role: Login, runtime: Runtime) -> None:
    client, csrf = as_role("editor")
    client.post("/admin/sponsors/accounts", data={"name": "Foldmaps", "csrf_token": csrf})
    page = client.get("/admin/sponsors/desk").text
    assert "Book a flight" in page
    with runtime.db.session() as session:
        from db.models import SponsorAccount

        sponsor = session.scalar(select(SponsorAccount.id).where(SponsorAccount.name == "Foldmaps"))
    form = {
        "sponsor_id": str(sponsor), "starts": "2026-12-01", "ends": "2026-12-31",
        "lists": ["weekly", "nonsense"], "weight": "3", "cap_days": "7", "position": "end",
        "csrf_token": csrf,
    }  # fmt: skip
    made = client.post("/admin/sponsors/flights", data=form, follow_redirects=False)
    assert made.status_code == 303
    with runtime.db.session() as session:
        booking = session.scalars(select(Booking).where(Booking.sponsor_id == sponsor)).one()
        assert (booking.lists, booking.weight, booking.cap_days, booking.slot_id) == (
            ["weekly"], 3, 7, None,
        )  # fmt: skip
    bad = client.post("/admin/sponsors/flights", data={**form, "ends": "2026-11-01"})
    assert bad.status_code == 422 and "cannot end before it starts" in bad.text
