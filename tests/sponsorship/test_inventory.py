"""Inventory and bookings: a slot is sold at most once (by the database, also under
concurrent requests), states move only along the table, the site file imports once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from config.site import SiteConfig
from db.engine import Database
from db.models import Booking, BookingState, Creative, SponsorAccount, SponsorImport
from sponsorship import inventory
from sponsorship.inventory import DeskError, SlotTaken
from sponsorship.source import import_site_sponsors, sponsors_for
from tests.sponsorship.desk import CREATOR

DAY = dt.date(2026, 12, 9)


def _slot_and_sponsors(db: Database, n: int) -> tuple[int, list[int]]:
    with db.session() as session:
        placement = inventory.add_placement(session, "top", "Top", "after_first", CREATOR)
        slot = inventory.add_slot(session, placement.id, DAY, "videos", CREATOR)
        ids = [inventory.add_sponsor(session, f"Sponsor {i}", CREATOR).id for i in range(n)]
        return slot.id, ids


def test_two_bookings_cannot_take_one_slot(db: Database) -> None:
    slot_id, (first, second) = _slot_and_sponsors(db, 2)
    with db.session() as session:
        inventory.book_slot(session, first, slot_id, CREATOR)
    with pytest.raises(SlotTaken), db.session() as session:
        inventory.book_slot(session, second, slot_id, CREATOR)
    with db.session() as session:
        assert inventory.count_live(session, slot_id) == 1


def test_the_database_itself_refuses_a_second_live_booking(db: Database) -> None:
    """Not only the function: a raw insert past it is refused by the unique index."""
    from sqlalchemy.exc import IntegrityError

    slot_id, (first, second) = _slot_and_sponsors(db, 2)
    with db.session() as session:
        inventory.book_slot(session, first, slot_id, CREATOR)
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(
            Booking(
                sponsor_id=second, slot_id=slot_id, position="end", starts=DAY, ends=DAY,
                lists=["videos"], state=BookingState.approved,
            )
        )  # fmt: skip
        session.flush()


def test_a_cancelled_booking_frees_its_slot(db: Database) -> None:
    slot_id, (first, second) = _slot_and_sponsors(db, 2)
    with db.session() as session:
        booking = inventory.book_slot(session, first, slot_id, CREATOR)
        inventory.cancel(session, booking.id, CREATOR)
    with db.session() as session:
        inventory.book_slot(session, second, slot_id, CREATOR)
        assert inventory.count_live(session, slot_id) == 1


def test_concurrent_bookings_of_one_slot_sell_it_once(db: Database) -> None:
    """Sixteen threads, each its own connection and transaction, race for one slot."""
    racers = 16
    slot_id, sponsors = _slot_and_sponsors(db, racers)
    start = threading.Barrier(racers)
    won: list[int] = []
    lost: list[int] = []
    errors: list[BaseException] = []

    def race(sponsor_id: int) -> None:
        try:
            start.wait()
            with db.session() as session:
                inventory.book_slot(session, sponsor_id, slot_id, CREATOR)
            won.append(sponsor_id)
        except SlotTaken:
            lost.append(sponsor_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(s,)) for s in sponsors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # SQLite may answer a writer that waited too long with "database is locked";
    # whatever the outcome of each request, the slot is sold exactly once.
    assert len(won) == 1, (won, lost, errors)
    assert len(won) + len(lost) + len(errors) == racers
    if db.engine.dialect.name == "postgresql":
        assert errors == [] and len(lost) == racers - 1
    with db.session() as session:
        assert inventory.count_live(session, slot_id) == 1


def test_states_move_only_along_the_table(db: Database) -> None:
    slot_id, (sponsor,) = _slot_and_sponsors(db, 1)
    with db.session() as session:
        booking = inventory.book_slot(session, sponsor, slot_id, CREATOR)
        with pytest.raises(DeskError, match="cannot become approved"):
            inventory.move(session, booking, BookingState.approved, CREATOR)
        inventory.move(session, booking, BookingState.awaiting_creative, CREATOR)
        inventory.move(session, booking, BookingState.cancelled, CREATOR)
        with pytest.raises(DeskError, match="is cancelled"):
            inventory.move(session, booking, BookingState.awaiting_creative, CREATOR)
        changes = [(c.old, c.new) for c in inventory.take_changes(session)]
    assert changes == [
        (None, "proposed"),
        ("proposed", "awaiting_creative"),
        ("awaiting_creative", "cancelled"),
    ]


def test_running_bookings_are_delivered_after_their_last_day(db: Database) -> None:
    slot_id, (sponsor,) = _slot_and_sponsors(db, 1)
    with db.session() as session:
        booking = inventory.book_slot(session, sponsor, slot_id, CREATOR)
        booking.state = BookingState.running
        assert inventory.settle(session, DAY) == 0
        assert inventory.settle(session, DAY + dt.timedelta(days=1)) == 1
        assert booking.state is BookingState.delivered


def test_the_site_files_sponsors_are_imported_once(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        assert sponsors_for(session, site, DAY) == site.sponsors  # not imported: the file
        names = import_site_sponsors(session, site, "site.toml", today=DAY)
        assert names == [s.name for s in site.sponsors]
        assert import_site_sponsors(session, site, "site.toml", today=DAY) == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SponsorAccount)) == len(names)
        assert session.scalar(select(func.count()).select_from(Booking)) == len(names)
        assert session.scalar(select(func.count()).select_from(Creative)) == len(names)
        assert session.scalar(select(func.count()).select_from(SponsorImport)) == 1
        from_desk = sponsors_for(session, site, DAY)
    in_flight = [s for s in site.sponsors if s.in_flight(DAY)]
    assert [s.name for s in from_desk] == [s.name for s in in_flight]
    for mine, theirs in zip(from_desk, in_flight, strict=True):
        assert (mine.text, str(mine.url), mine.cta, mine.weight, mine.cap_days, mine.lists) == (
            theirs.text, str(theirs.url), theirs.cta, theirs.weight, theirs.cap_days, theirs.lists,
        )  # fmt: skip
        assert (mine.placement, mine.house) == (theirs.placement, theirs.house)


def test_the_desk_is_the_source_after_the_import(db: Database, site: SiteConfig) -> None:
    """A file edited after the import changes nothing: the file is an import format."""
    with db.session() as session:
        import_site_sponsors(session, site, "site.toml", today=DAY)
    edited = site.model_copy(update={"sponsors": ()})
    with db.session() as session:
        assert len(sponsors_for(session, edited, DAY)) == len(
            [s for s in site.sponsors if s.in_flight(DAY)]
        )
