"""The sponsor desk in the admin: sponsors, placements, the slot calendar, bookings,
creative review, revenue, and the links a sponsor gets (sponsorship/ does the work).

Every write opens the desk with `desk_session`, which imports the site file's
sponsors first if that never happened, so the desk is the one source from its
first use. Booking changes send their hook after the commit (tasks.sponsors).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

import tasks.sponsors  # noqa: F401 - booking changes send their hook after each commit
from config.runtime import Runtime
from db.models import MAX_ID, SponsorAccount, utcnow
from sponsorship import creative, inventory, links, reports
from sponsorship.inventory import DeskError
from sponsorship.source import import_site_sponsors
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.charts import bar_chart, day_label
from web.dashboard.render import error_page, page, redirect

router = APIRouter(prefix="/sponsors")
BookingId = Annotated[int, Path(ge=1, le=MAX_ID)]


@contextmanager
def desk_session(rt: Runtime) -> Iterator[Session]:
    with rt.db.session() as session:
        import_site_sponsors(session, rt.site, str(rt.settings.site_config))
        yield session


def _today(rt: Runtime) -> dt.date:
    return utcnow().astimezone(rt.site.newsletter.tz).date()


@router.get("/desk")
def desk_page(request: Request, admin: Annotated[Admin, Depends(allow("read"))]) -> Response:
    return _desk(request)


def _desk(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    rt = runtime(request)
    with rt.db.session() as session:
        context = {
            "title": "Sponsor desk",
            "sponsors": inventory.list_sponsors(session),
            "placements": inventory.list_placements(session),
            "bookings": inventory.list_bookings(session),
            "error": error,
            "today": _today(rt),
            "lists": rt.site.lists,
        }
    return page(request, "sponsor_desk", context, section="sponsors", status_code=status_code)


def _done(request: Request, url: str, work: Any, flash: str) -> Response:
    """Run a desk write; a DeskError shows on the desk page instead."""
    try:
        with desk_session(runtime(request)) as session:
            result = work(session)
    except (DeskError, LookupError) as exc:
        return _desk(request, str(exc), 422)
    return redirect(request, url.format(result=result), flash.format(result=result))


@router.post("/accounts")
def add_sponsor(
    request: Request,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
    name: Annotated[str, Form(max_length=200)],
    contact: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    return _done(
        request,
        "/admin/sponsors/desk",
        lambda s: inventory.add_sponsor(s, name, admin.actor, contact=contact).name,
        "Added sponsor {result}.",
    )


@router.post("/placements")
def add_placement(
    request: Request,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
    slug: Annotated[str, Form(max_length=64)],
    position: Annotated[str, Form(max_length=16)],
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return _done(
        request,
        "/admin/sponsors/desk",
        lambda s: inventory.add_placement(s, slug, name, position, admin.actor).slug,
        "Added placement {result}.",
    )


@router.get("/calendar")
def calendar_page(
    request: Request,
    admin: Annotated[Admin, Depends(allow("read"))],
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> Response:
    rt = runtime(request)
    today = _today(rt)
    year, mon = (int(month[:4]), int(month[5:])) if month else (today.year, today.month)
    if not 1 <= mon <= 12 or not 2000 <= year <= 2999:
        return error_page(request, "Not found", "No such month.", 404)
    first = dt.date(year, mon, 1)
    last = dt.date(year, mon, calendar.monthrange(year, mon)[1])
    with rt.db.session() as session:
        slots = inventory.slots_between(session, first, last)
        sponsors = inventory.list_sponsors(session)
        placements = inventory.list_placements(session)
    by_day: dict[dt.date, list[inventory.SlotView]] = {}
    for slot in slots:
        by_day.setdefault(slot.day, []).append(slot)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, mon)
    before = first - dt.timedelta(days=1)
    after = last + dt.timedelta(days=1)
    return page(
        request,
        "sponsor_calendar",
        {
            "title": f"Sponsor calendar: {first:%B %Y}",
            "month": first,
            "weeks": weeks,
            "by_day": by_day,
            "slots": slots,
            "sponsors": [s for s in sponsors if not s.house],
            "placements": placements,
            "lists": rt.site.lists,
            "today": today,
            "prev": f"{before:%Y-%m}",
            "next": f"{after:%Y-%m}",
        },
        section="sponsors",
    )


@router.post("/slots")
def add_slot(
    request: Request,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
    placement_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    day: Annotated[dt.date, Form()],
    list_slug: Annotated[str, Form(max_length=64)],
) -> Response:
    if list_slug not in runtime(request).site.list_slugs():
        return _desk(request, f"unknown list {list_slug!r}", 422)
    return _done(
        request,
        f"/admin/sponsors/calendar?month={day:%Y-%m}",
        lambda s: inventory.add_slot(s, placement_id, day, list_slug, admin.actor).id,
        "Added slot {result}.",
    )


@router.post("/bookings")
def book(
    request: Request,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
    sponsor_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    slot_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    return _done(
        request,
        "/admin/sponsors/bookings/{result}",
        lambda s: inventory.book_slot(s, sponsor_id, slot_id, admin.actor).id,
        "Booked: booking {result} is proposed.",
    )


@router.post("/flights")
def book_flight(
    request: Request,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
    sponsor_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    starts: Annotated[dt.date, Form()],
    ends: Annotated[dt.date, Form()],
    position: Annotated[str, Form(max_length=16)] = "end",
    weight: Annotated[int, Form(ge=1, le=1000)] = 1,
    cap_days: Annotated[int, Form(ge=0, le=365)] = 0,
    lists: Annotated[list[str] | None, Form()] = None,
) -> Response:
    known = set(runtime(request).site.list_slugs())
    chosen = [slug for slug in (lists or []) if slug in known]
    return _done(
        request,
        "/admin/sponsors/bookings/{result}",
        lambda s: (
            inventory.book_flight(
                s,
                sponsor_id,
                starts,
                ends,
                admin.actor,
                position=position,
                weight=weight,
                cap_days=cap_days,
                lists=chosen,
            ).id
        ),
        "Booked: flight {result} is proposed.",
    )


@router.get("/bookings/{booking_id}")
def booking_page(
    request: Request, booking_id: BookingId, admin: Annotated[Admin, Depends(allow("read"))]
) -> Response:
    rt = runtime(request)
    with rt.db.session() as session:
        try:
            booking = inventory.get_booking(session, booking_id)
        except LookupError:
            return error_page(request, "Not found", f"No booking {booking_id}.", 404)
        sponsor = session.get(SponsorAccount, booking.sponsor_id)
        versions = creative.versions(session, booking_id)
        report = reports.booking_report(session, booking_id)
        data = inventory.booking_dict(booking, sponsor.name if sponsor else "")
    secret = rt.settings.secret_key
    base = rt.base_url
    return page(
        request,
        "sponsor_booking",
        {
            "title": f"Booking {booking_id}",
            "b": data,
            "versions": versions,
            "report": report,
            "chart": report_chart(report),
            "intake_url": f"{base}/sponsor/intake/{links.intake_token(secret, booking_id)}"
            if data["state"] == "awaiting_creative"
            else None,
            "report_url": f"{base}/sponsor/report/{links.report_token(secret, booking_id)}",
        },
        section="sponsors",
    )


def report_chart(report: reports.BookingReport) -> Any:
    """Clicks per day, the same SVG bar chart the admin draws elsewhere."""
    return bar_chart(
        [(day_label(day), clicks) for day, _, clicks in report.days],
        f"{report.sponsor}: clicks per day",
    )


def _booking_write(request: Request, booking_id: int, work: Any, flash: str) -> Response:
    try:
        with desk_session(runtime(request)) as session:
            work(session)
    except (DeskError, LookupError) as exc:
        return error_page(request, "Cannot do that", str(exc), 422)
    return redirect(request, f"/admin/sponsors/bookings/{booking_id}", flash)


@router.post("/bookings/{booking_id}/intake")
def ask_for_creative(
    request: Request,
    booking_id: BookingId,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
) -> Response:
    def work(session: Session) -> None:
        booking = inventory.get_booking(session, booking_id)
        inventory.move(session, booking, inventory.S.awaiting_creative, admin.actor)

    return _booking_write(
        request, booking_id, work, "Waiting for creative: send the sponsor the intake link."
    )


@router.post("/bookings/{booking_id}/approve")
def approve(
    request: Request,
    booking_id: BookingId,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
) -> Response:
    return _booking_write(
        request,
        booking_id,
        lambda s: creative.approve(s, booking_id, admin.actor),
        "Creative approved: editions on the booked date will carry it.",
    )


@router.post("/bookings/{booking_id}/changes")
def ask_for_changes(
    request: Request,
    booking_id: BookingId,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
    comment: Annotated[str, Form(max_length=2000)],
) -> Response:
    return _booking_write(
        request,
        booking_id,
        lambda s: creative.request_changes(s, booking_id, comment, admin.actor),
        "Changes asked for: the sponsor's intake link shows your comment.",
    )


@router.post("/bookings/{booking_id}/cancel")
def cancel(
    request: Request,
    booking_id: BookingId,
    admin: Annotated[Admin, Depends(allow("sponsors.manage"))],
) -> Response:
    return _booking_write(
        request,
        booking_id,
        lambda s: inventory.cancel(s, booking_id, admin.actor),
        "Booking cancelled; its slot is free again.",
    )


@router.post("/bookings/{booking_id}/revenue")
def revenue(
    request: Request,
    booking_id: BookingId,
    admin: Annotated[Admin, Depends(allow("sponsors.revenue"))],
    price: Annotated[str, Form(max_length=20)] = "",
    currency: Annotated[str, Form(max_length=3)] = "EUR",
    invoice_ref: Annotated[str, Form(max_length=64)] = "",
    paid: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        cents = round(float(price.replace(",", ".")) * 100) if price.strip() else None
    except ValueError:
        return error_page(request, "Cannot do that", "The price must be a number.", 422)
    return _booking_write(
        request,
        booking_id,
        lambda s: inventory.set_revenue(
            s,
            booking_id,
            admin.actor,
            price_cents=cents,
            currency=currency,
            invoice_ref=invoice_ref,
            paid=bool(paid),
        ),
        "Revenue saved.",
    )


@router.get("/bookings/{booking_id}/report.csv")
def report_csv(
    request: Request, booking_id: BookingId, admin: Annotated[Admin, Depends(allow("read"))]
) -> Response:
    with runtime(request).db.session() as session:
        try:
            made = reports.booking_report(session, booking_id)
        except LookupError:
            return error_page(request, "Not found", f"No booking {booking_id}.", 404)
    return csv_response(made)


def csv_response(report: reports.BookingReport) -> Response:
    return Response(
        reports.report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="booking-{report.booking_id}.csv"',
            "Cache-Control": "no-store",
        },
    )
