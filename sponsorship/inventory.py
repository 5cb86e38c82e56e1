"""Sponsors, placements, slots and bookings, and the one table of booking states.

Invariants:
- a slot is sold at most once: the database's partial unique index
  `uq_bookings_live_slot` refuses a second booking that is not cancelled, so two
  requests racing for one slot cannot both win (the loser gets `SlotTaken`);
- a booking only moves along `TRANSITIONS`; every move is audited and noted in
  `session.info[CHANGES]`, which the task layer turns into signed hooks after
  the transaction commits (never for a rolled-back change).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts import audit
from accounts.audit import Actor
from db.models import (
    BlockPosition,
    Booking,
    BookingState,
    Placement,
    Slot,
    SponsorAccount,
    utcnow,
)

S = BookingState
TRANSITIONS: dict[BookingState, frozenset[BookingState]] = {
    S.proposed: frozenset({S.awaiting_creative, S.cancelled}),
    S.awaiting_creative: frozenset({S.in_review, S.cancelled}),
    S.in_review: frozenset({S.approved, S.awaiting_creative, S.cancelled}),
    S.approved: frozenset({S.running, S.awaiting_creative, S.cancelled}),
    S.running: frozenset({S.delivered, S.cancelled}),
    S.delivered: frozenset(),
    S.cancelled: frozenset(),
}
# States whose approved creative may appear in an edition (delivered: past editions).
PLACED = (S.approved, S.running, S.delivered)
CHANGES = "booking_changes"  # session.info key: state changes waiting for the commit

MAX_NAME = 200


class DeskError(ValueError):
    """A desk request that cannot be done; the message is one line for a person."""


class SlotTaken(DeskError):
    pass


@dataclass(frozen=True)
class Change:
    """A booking moved from one state to another (plain data for a hook)."""

    booking_id: int
    sponsor: str
    old: str | None
    new: str
    at: str


def add_sponsor(
    session: Session, name: str, actor: Actor, *, contact: str = "", house: bool = False
) -> SponsorAccount:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise DeskError(f"a sponsor needs a name of 1 to {MAX_NAME} characters")
    if session.scalar(select(SponsorAccount.id).where(SponsorAccount.name == name)):
        raise DeskError(f"there is already a sponsor called {name!r}")
    sponsor = SponsorAccount(name=name, contact=contact.strip()[:320], house=house)
    session.add(sponsor)
    session.flush()
    audit.record(session, actor, "sponsor.add", f"sponsor:{sponsor.id}", name=name)
    return sponsor


def add_placement(session: Session, slug: str, name: str, position: str, actor: Actor) -> Placement:
    slug = slug.strip().lower()
    if not slug or len(slug) > 64 or not all(c.isalnum() or c == "-" for c in slug):
        raise DeskError("a placement needs a slug of letters, digits and '-' (up to 64)")
    try:
        where = BlockPosition(position)
    except ValueError:
        raise DeskError("position must be after_first or end") from None
    if session.scalar(select(Placement.id).where(Placement.slug == slug)):
        raise DeskError(f"there is already a placement {slug!r}")
    placement = Placement(slug=slug, name=(name.strip() or slug)[:MAX_NAME], position=where)
    session.add(placement)
    session.flush()
    audit.record(session, actor, "placement.add", f"placement:{placement.id}", slug=slug)
    return placement


def add_slot(
    session: Session, placement_id: int, day: dt.date, list_slug: str, actor: Actor
) -> Slot:
    if session.get(Placement, placement_id) is None:
        raise DeskError(f"no placement with id {placement_id}")
    exists = session.scalar(
        select(Slot.id).where(
            Slot.placement_id == placement_id, Slot.day == day, Slot.list_slug == list_slug
        )
    )
    if exists:
        raise DeskError(f"that slot already exists (slot {exists})")
    slot = Slot(placement_id=placement_id, day=day, list_slug=list_slug)
    session.add(slot)
    session.flush()
    audit.record(session, actor, "slot.add", f"slot:{slot.id}", day=day.isoformat())
    return slot


def book_slot(
    session: Session,
    sponsor_id: int,
    slot_id: int,
    actor: Actor,
    *,
    price_cents: int | None = None,
    currency: str = "EUR",
) -> Booking:
    """A proposed booking of one slot; `SlotTaken` when a live booking holds it already."""
    sponsor = _sponsor(session, sponsor_id)
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise DeskError(f"no slot with id {slot_id}")
    placement = session.get(Placement, slot.placement_id)
    assert placement is not None
    booking = Booking(
        sponsor_id=sponsor.id,
        slot_id=slot.id,
        position=placement.position,
        starts=slot.day,
        ends=slot.day,
        weight=1,
        cap_days=0,
        lists=[slot.list_slug],
        state=S.proposed,
        price_cents=price_cents,
        currency=_currency(currency),
    )
    try:
        with session.begin_nested():  # the unique index is the judge, also under races
            session.add(booking)
            session.flush()
    except IntegrityError:
        raise SlotTaken(f"slot {slot_id} is already booked") from None
    _noted(session, booking, sponsor.name, None, S.proposed)
    audit.record(session, actor, "booking.add", f"booking:{booking.id}", slot=slot.id)
    return booking


def book_flight(
    session: Session,
    sponsor_id: int,
    starts: dt.date,
    ends: dt.date,
    actor: Actor,
    *,
    position: str = "end",
    weight: int = 1,
    cap_days: int = 0,
    lists: list[str] | None = None,
) -> Booking:
    """A proposed flight: any campaign from `starts` to `ends` on `lists` may carry it."""
    sponsor = _sponsor(session, sponsor_id)
    if ends < starts:
        raise DeskError("a flight cannot end before it starts")
    if weight < 1 or cap_days < 0:
        raise DeskError("weight must be 1 or more and cap_days 0 or more")
    try:
        where = BlockPosition(position)
    except ValueError:
        raise DeskError("position must be after_first or end") from None
    booking = Booking(
        sponsor_id=sponsor.id,
        position=where,
        starts=starts,
        ends=ends,
        weight=weight,
        cap_days=cap_days,
        lists=list(lists or []),
        state=S.proposed,
    )
    session.add(booking)
    session.flush()
    _noted(session, booking, sponsor.name, None, S.proposed)
    audit.record(session, actor, "booking.add", f"booking:{booking.id}", flight=True)
    return booking


def move(session: Session, booking: Booking, new: BookingState, actor: Actor) -> None:
    """Change a booking's state along TRANSITIONS; anything else is a DeskError."""
    old = booking.state
    if new not in TRANSITIONS[old]:
        raise DeskError(f"booking {booking.id} is {old.value}; it cannot become {new.value}")
    booking.state = new
    booking.updated_at = utcnow()
    sponsor = session.get(SponsorAccount, booking.sponsor_id)
    _noted(session, booking, sponsor.name if sponsor else "", old, new)
    audit.record(session, actor, f"booking.{new.value}", f"booking:{booking.id}", was=old.value)


def cancel(session: Session, booking_id: int, actor: Actor) -> Booking:
    """Cancelled bookings free their slot (the unique index only counts live ones)."""
    booking = get_booking(session, booking_id)
    move(session, booking, S.cancelled, actor)
    return booking


def set_revenue(
    session: Session,
    booking_id: int,
    actor: Actor,
    *,
    price_cents: int | None,
    currency: str,
    invoice_ref: str,
    paid: bool,
) -> Booking:
    booking = get_booking(session, booking_id)
    if price_cents is not None and price_cents < 0:
        raise DeskError("a price cannot be negative")
    booking.price_cents = price_cents
    booking.currency = _currency(currency)
    booking.invoice_ref = invoice_ref.strip()[:64]
    booking.paid = paid
    booking.updated_at = utcnow()
    audit.record(session, actor, "booking.revenue", f"booking:{booking.id}", paid=paid)
    return booking


def mark_running(session: Session, booking_id: int) -> None:
    """A campaign started carrying the booking (called when its editions are stored)."""
    booking = session.get(Booking, booking_id)
    if booking is not None and booking.state is S.approved:
        move(session, booking, S.running, audit.Actor("system"))


def settle(session: Session, today: dt.date) -> int:
    """Running bookings whose last day has passed are delivered."""
    done = session.scalars(
        select(Booking).where(Booking.state == S.running, Booking.ends < today)
    ).all()
    for booking in done:
        move(session, booking, S.delivered, audit.Actor("system"))
    return len(done)


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise LookupError(f"no booking with id {booking_id}")
    return booking


def take_changes(session: Session) -> list[Change]:
    changes: list[Change] = session.info.pop(CHANGES, [])
    return changes


@dataclass(frozen=True)
class SlotView:
    id: int
    placement: str
    day: dt.date
    list_slug: str
    booking_id: int | None
    sponsor: str | None
    state: str | None


def slots_between(session: Session, start: dt.date, end: dt.date) -> list[SlotView]:
    """Every slot from `start` to `end` with its live booking, if sold: the calendar."""
    live = (
        select(Booking.id, Booking.slot_id, Booking.state, SponsorAccount.name)
        .join(SponsorAccount, SponsorAccount.id == Booking.sponsor_id)
        .where(Booking.state != S.cancelled, Booking.slot_id.is_not(None))
        .subquery()
    )
    rows = session.execute(
        select(Slot, Placement.slug, live.c.id, live.c.name, live.c.state)
        .join(Placement, Placement.id == Slot.placement_id)
        .outerjoin(live, live.c.slot_id == Slot.id)
        .where(Slot.day >= start, Slot.day <= end)
        .order_by(Slot.day, Placement.slug, Slot.list_slug)
    ).all()
    return [
        SlotView(slot.id, slug, slot.day, slot.list_slug, bid, name, state.value if state else None)
        for slot, slug, bid, name, state in rows
    ]


def list_bookings(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Booking, SponsorAccount.name)
        .join(SponsorAccount, SponsorAccount.id == Booking.sponsor_id)
        .order_by(Booking.id.desc())
        .limit(limit)
    ).all()
    return [booking_dict(b, name) for b, name in rows]


def booking_dict(booking: Booking, sponsor: str) -> dict[str, Any]:
    return {
        "id": booking.id,
        "sponsor": sponsor,
        "slot_id": booking.slot_id,
        "state": booking.state.value,
        "placement": booking.position.value,
        "starts": booking.starts.isoformat(),
        "ends": booking.ends.isoformat(),
        "lists": list(booking.lists),
        "weight": booking.weight,
        "cap_days": booking.cap_days,
        "price_cents": booking.price_cents,
        "currency": booking.currency,
        "invoice_ref": booking.invoice_ref,
        "paid": booking.paid,
    }


def list_sponsors(session: Session) -> list[SponsorAccount]:
    return list(session.scalars(select(SponsorAccount).order_by(SponsorAccount.name)))


def list_placements(session: Session) -> list[Placement]:
    return list(session.scalars(select(Placement).order_by(Placement.slug)))


def count_live(session: Session, slot_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(Booking.slot_id == slot_id, Booking.state != S.cancelled)
        )
        or 0
    )


def _sponsor(session: Session, sponsor_id: int) -> SponsorAccount:
    sponsor = session.get(SponsorAccount, sponsor_id)
    if sponsor is None:
        raise DeskError(f"no sponsor with id {sponsor_id}")
    return sponsor


def _currency(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise DeskError("currency must be a three-letter code such as EUR or USD")
    return code


def _noted(
    session: Session, booking: Booking, sponsor: str, old: BookingState | None, new: BookingState
) -> None:
    session.info.setdefault(CHANGES, []).append(
        Change(booking.id, sponsor, old.value if old else None, new.value, utcnow().isoformat())
    )
