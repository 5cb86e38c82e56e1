"""`broadsheet sponsors ...`: the sponsor desk from the terminal (same calls as /admin/sponsors)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

import tasks.sponsors  # noqa: F401 - booking changes send their hook after each commit
from accounts.audit import CLI
from cli.common import console, one_line_errors, print_json, runtime
from sponsorship import creative, inventory, links, reports
from sponsorship.source import import_site_sponsors

sponsors_app = typer.Typer(
    help="The sponsor desk: sponsors, placements, slots, bookings, creative, reports.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON.")


@contextmanager
def desk() -> Iterator[Session]:
    """A session on the desk; the site file's sponsors are imported first if they never were."""
    rt = runtime()
    with rt.db.session() as session:
        import_site_sponsors(session, rt.site, str(rt.settings.site_config))
        yield session


def _out(data: Any, as_json: bool, line: str) -> None:
    if as_json:
        print_json(data)
    else:
        console.print(line, highlight=False)


@sponsors_app.command("import")
@one_line_errors
def import_(as_json: bool = JSON) -> None:
    """Import the site file's sponsors once (init does this too); later runs do nothing."""
    rt = runtime()
    with rt.db.session() as session:
        names = import_site_sponsors(session, rt.site, str(rt.settings.site_config))
    _out({"imported": names}, as_json, f"imported {len(names)} sponsor(s) from the site file")


@sponsors_app.command("add")
@one_line_errors
def add(
    name: str = typer.Argument(..., help="Shown under 'Sponsored' in every block."),
    contact: str = typer.Option("", help="Who to send links to (for you; never mailed)."),
    house: bool = typer.Option(False, help="A house ad: shown when no paid sponsor can be."),
    as_json: bool = JSON,
) -> None:
    """Add a sponsor."""
    with desk() as session:
        sponsor = inventory.add_sponsor(session, name, CLI, contact=contact, house=house)
        data = {"id": sponsor.id, "name": sponsor.name}
    _out(data, as_json, f"sponsor {data['id']}: {data['name']}")


@sponsors_app.command("list")
@one_line_errors
def list_(as_json: bool = JSON) -> None:
    """Sponsors and their bookings."""
    with desk() as session:
        data: dict[str, list[dict[str, Any]]] = {
            "sponsors": [
                {"id": s.id, "name": s.name, "house": s.house, "source": s.source}
                for s in inventory.list_sponsors(session)
            ],
            "placements": [
                {"id": p.id, "slug": p.slug, "name": p.name, "position": p.position.value}
                for p in inventory.list_placements(session)
            ],
            "bookings": inventory.list_bookings(session),
        }
    if as_json:
        print_json(data)
        return
    table = Table("booking", "sponsor", "state", "from", "to", "slot", "lists")
    for b in data["bookings"]:
        table.add_row(str(b["id"]), b["sponsor"], b["state"], b["starts"], b["ends"],
                      str(b["slot_id"] or "-"), ", ".join(b["lists"]) or "all")  # fmt: skip
    console.print(table)


@sponsors_app.command("placement")
@one_line_errors
def placement(
    slug: str = typer.Argument(..., help="e.g. weekly-top"),
    name: str = typer.Option("", help="e.g. 'Top of the weekly digest'"),
    position: str = typer.Option("end", help="after_first (after the first post) or end"),
    as_json: bool = JSON,
) -> None:
    """Add a placement."""
    with desk() as session:
        made = inventory.add_placement(session, slug, name, position, CLI)
        data = {"id": made.id, "slug": made.slug, "position": made.position.value}
    _out(data, as_json, f"placement {data['id']}: {data['slug']} ({data['position']})")


@sponsors_app.command("slot")
@one_line_errors
def slot(
    placement_id: int = typer.Option(..., "--placement", help="Placement id."),
    day: str = typer.Option(..., "--date", help="YYYY-MM-DD"),
    list_slug: str = typer.Option(..., "--list", help="The list whose edition carries it."),
    as_json: bool = JSON,
) -> None:
    """Add a dated slot of a placement for one list."""
    rt = runtime()
    if list_slug not in rt.site.list_slugs():
        raise ValueError(f"unknown list {list_slug!r}")
    with desk() as session:
        made = inventory.add_slot(session, placement_id, dt.date.fromisoformat(day), list_slug, CLI)
        data = {"id": made.id, "day": made.day.isoformat(), "list": made.list_slug}
    _out(data, as_json, f"slot {data['id']}: {data['day']} on {data['list']}")


@sponsors_app.command("book")
@one_line_errors
def book(
    sponsor_id: int = typer.Option(..., "--sponsor", help="Sponsor id."),
    slot_id: int | None = typer.Option(None, "--slot", help="Book one slot ..."),
    starts: str | None = typer.Option(None, "--from", help="... or a flight: first day"),
    ends: str | None = typer.Option(None, "--to", help="last day of the flight"),
    lists: list[str] = typer.Option([], "--list", help="Flight audience lists (default all)."),
    weight: int = typer.Option(1, help="Flight rotation weight."),
    cap_days: int = typer.Option(0, help="Flight frequency cap in days."),
    position: str = typer.Option("end", help="Flight placement: after_first or end."),
    as_json: bool = JSON,
) -> None:
    """Book a slot (sold at most once) or a flight; the booking starts as proposed."""
    with desk() as session:
        if slot_id is not None:
            made = inventory.book_slot(session, sponsor_id, slot_id, CLI)
        elif starts and ends:
            made = inventory.book_flight(
                session, sponsor_id, dt.date.fromisoformat(starts), dt.date.fromisoformat(ends),
                CLI, position=position, weight=weight, cap_days=cap_days, lists=lists,
            )  # fmt: skip
        else:
            raise ValueError("give --slot, or --from and --to for a flight")
        data = {"id": made.id, "state": made.state.value}
    _out(data, as_json, f"booking {data['id']}: {data['state']}")


def _link(path: str, token: str) -> str:
    return f"{runtime().base_url}/sponsor/{path}/{token}"


@sponsors_app.command("intake-link")
@one_line_errors
def intake_link(booking_id: int, as_json: bool = JSON) -> None:
    """Ask the sponsor for creative: the booking waits for it; prints the signed link (14 days)."""
    with desk() as session:
        booking = inventory.get_booking(session, booking_id)
        if booking.state is not inventory.S.awaiting_creative:
            inventory.move(session, booking, inventory.S.awaiting_creative, CLI)
    url = _link("intake", links.intake_token(runtime().settings.secret_key, booking_id))
    _out({"booking_id": booking_id, "url": url}, as_json, url)


@sponsors_app.command("approve")
@one_line_errors
def approve(booking_id: int, as_json: bool = JSON) -> None:
    """Approve the creative waiting for review."""
    with desk() as session:
        made = creative.approve(session, booking_id, CLI)
        data = {"booking_id": booking_id, "version": made.version, "state": "approved"}
    _out(data, as_json, f"booking {booking_id}: version {data['version']} approved")


@sponsors_app.command("request-changes")
@one_line_errors
def request_changes(
    booking_id: int, comment: str = typer.Option(..., help="What should change."),
    as_json: bool = JSON,
) -> None:  # fmt: skip
    """Send the creative back to the sponsor with a comment."""
    with desk() as session:
        made = creative.request_changes(session, booking_id, comment, CLI)
        data = {"booking_id": booking_id, "version": made.version, "state": "awaiting_creative"}
    _out(data, as_json, f"booking {booking_id}: changes asked for version {data['version']}")


@sponsors_app.command("cancel")
@one_line_errors
def cancel(booking_id: int, as_json: bool = JSON) -> None:
    """Cancel a booking; its slot is free again."""
    with desk() as session:
        inventory.cancel(session, booking_id, CLI)
    _out(
        {"booking_id": booking_id, "state": "cancelled"},
        as_json,
        f"booking {booking_id}: cancelled",
    )


@sponsors_app.command("report")
@one_line_errors
def report(
    booking_id: int,
    link: bool = typer.Option(False, "--link", help="Also print the sponsor's report link."),
    as_json: bool = JSON,
) -> None:
    """Impressions, clicks and click rate per campaign that carried the booking."""
    with desk() as session:
        made = reports.booking_report(session, booking_id)
    data: dict[str, Any] = {
        "booking_id": made.booking_id,
        "sponsor": made.sponsor,
        "state": made.state,
        "impressions": made.impressions,
        "clicks": made.clicks,
        "unique_clicks": made.unique_clicks,
        "click_rate": round(made.click_rate, 4),
        "campaigns": [
            {
                "campaign_id": c.campaign_id,
                "impressions": c.impressions,
                "clicks": c.clicks,
                "unique_clicks": c.unique_clicks,
                "click_rate": round(c.click_rate, 4),
            }
            for c in made.campaigns
        ],
    }
    if link:
        data["report_url"] = _link(
            "report", links.report_token(runtime().settings.secret_key, booking_id)
        )
    if as_json:
        print_json(data)
        return
    console.print(
        f"booking {made.booking_id} ({made.sponsor}, {made.state}): {made.impressions} "
        f"impressions, {made.clicks} clicks ({made.unique_clicks} unique), "
        f"click rate {100 * made.click_rate:.1f}%",
        highlight=False,
    )
    if link:
        console.print(data["report_url"], highlight=False, soft_wrap=True)
