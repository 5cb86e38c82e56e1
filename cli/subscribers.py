"""`broadsheet subscribers ...`: add, import, invite, list, export, erase."""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, err_console, one_line_errors, print_json, runtime
from db.models import SubscriberStatus
from subscribers import invitations, queries
from subscribers.erasure import erase as erase_person
from subscribers.exporting import write_csv
from subscribers.importing import Rejection, import_csv
from subscribers.signup import UnknownList, add_by_admin
from tasks.subscribers import enqueue_confirmation

subscribers_app = typer.Typer(
    help="Add, import, list, export and erase subscribers.", no_args_is_help=True
)

LIST_OPTION = typer.Option(None, "--list", "-l", help="List slug (repeatable).")


@subscribers_app.command("add")
@one_line_errors
def add(
    email: str = typer.Argument(..., help="The address to add."),
    lists: list[str] = LIST_OPTION,
    confirmed: bool = typer.Option(
        False, help="They already agreed elsewhere: skip the confirmation email."
    ),
    name: str | None = typer.Option(None, help="Their name."),
    as_json: bool = typer.Option(False, "--json", help="Print the subscriber as JSON."),
) -> None:
    """Add one subscriber; without --confirmed they get a confirmation email first."""
    rt = runtime()
    with rt.db.session() as session:
        person, confirm_id = add_by_admin(
            session, rt.site, email, lists or [], source="cli", confirmed=confirmed, name=name
        )
        data = queries.summary(person, queries.lists_of(session, person.id))
    enqueue_confirmation(confirm_id)
    if as_json:
        print_json(data.as_dict())
    else:
        typer.echo(data.id)


@subscribers_app.command("import")
@one_line_errors
def import_file(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="CSV with a header row: email[,name,lists,country,timezone]",
    ),
    lists: list[str] = LIST_OPTION,
    confirmed: bool = typer.Option(
        False, help="Everyone in the file already agreed: mark them confirmed."
    ),
    invite: bool = typer.Option(
        False,
        help="Send a confirmation email to the file's pending people who never got one "
        "(at SEND_RATE_PER_SECOND).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import a CSV file; each rejected row is reported with its line number and reason.

    Exits 1 when any row was rejected as invalid (suppressed addresses are skipped,
    not errors). Bytes that are not UTF-8 become U+FFFD, so such a row is rejected,
    not the file.
    """
    rt = runtime()
    size = file.stat().st_size

    def report_rejection(rejection: Rejection) -> None:
        if not as_json:
            err_console.print(
                f"line {rejection.line}: {rejection.reason}", highlight=False, soft_wrap=True
            )

    with (
        file.open("rb") as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as stream,
        Progress(
            TextColumn("importing"),
            BarColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=as_json,
        ) as progress,
    ):
        task = progress.add_task("import", total=size or 1, rows=0)

        def advance(rows: int) -> None:
            # The byte offset is an honest measure of progress for a streamed file.
            progress.update(task, completed=raw.tell(), rows=rows)

        report = import_csv(
            rt.db,
            rt.site,
            stream,
            lists=lists or [],
            confirmed=confirmed,
            invite=invite,
            on_reject=report_rejection,
            on_progress=advance,
            on_invite=_queue_confirmations,
        )
    invalid = report.rejected - report.suppressed
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(
            f"{report.rows:,} rows: {report.added:,} added, {report.existing:,} already there, "
            f"{report.duplicates:,} repeated in the file, "
            f"{report.suppressed:,} suppressed, {invalid:,} invalid"
            + (f"; {report.invited:,} invited" if invite else "")
        )
    if invalid:
        if not as_json:
            err_console.print(
                f"{invalid:,} row(s) rejected (listed above by line); the others were imported",
                highlight=False,
            )
        raise typer.Exit(1)


def _queue_confirmations(ids: list[int]) -> None:
    for subscriber_id in ids:
        enqueue_confirmation(subscriber_id)


@subscribers_app.command("invite")
@one_line_errors
def invite_pending(
    list_slug: str | None = typer.Option(None, "--list", help="Only members of this list."),
    limit: int | None = typer.Option(None, min=1, help="At most this many people."),
    older_than_days: int = typer.Option(
        7,
        "--older-than-days",
        min=0,
        help="Also people whose last confirmation is older than this (its link expires "
        "after 7 days).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Send a confirmation email to pending people who never got one (e.g. imported),
    or whose last one is older than --older-than-days; at SEND_RATE_PER_SECOND."""
    rt = runtime()
    if list_slug is not None and list_slug not in rt.site.list_slugs():
        raise UnknownList(f"unknown list(s): {list_slug}")
    count = 0
    for ids in invitations.invite(
        rt.db,
        older_than=dt.timedelta(days=older_than_days),
        list_slug=list_slug,
        limit=limit,
    ):
        _queue_confirmations(ids)
        count += len(ids)
    if as_json:
        print_json({"invited": count})
    else:
        console.print(f"{count:,} confirmation email(s) queued")


@subscribers_app.command("list")
@one_line_errors
def list_subscribers(
    status: SubscriberStatus | None = typer.Option(None, help="Only this status."),
    list_slug: str | None = typer.Option(None, "--list", help="Only members of this list."),
    after: int = typer.Option(0, help="Start after this subscriber id (paging)."),
    limit: int = typer.Option(50, help="How many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Subscribers by id, with status and lists."""
    rt = runtime()
    with rt.db.session() as session:
        rows = queries.page(
            session, after_id=after, limit=limit, status=status, list_slug=list_slug
        )
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    table = Table("id", "email", "name", "status", "lists", "country", "created")
    for r in rows:
        table.add_row(
            str(r.id), r.email, r.name or "", r.status, ", ".join(r.lists),
            r.country or "", r.created_at[:10],
        )  # fmt: skip
    console.print(table)


@subscribers_app.command("export")
@one_line_errors
def export(
    file: Path | None = typer.Argument(None, help="Where to write the CSV (default: stdout)."),
) -> None:
    """Write every subscriber as CSV (the import columns plus status and dates)."""
    rt = runtime()
    if file is None:
        write_csv(rt.db, sys.stdout)
        return
    with file.open("w", encoding="utf-8", newline="") as out:
        count = write_csv(rt.db, out)
    err_console.print(f"wrote {count:,} subscribers to {file}")


@subscribers_app.command("erase")
@one_line_errors
def erase(
    email: str = typer.Argument(..., help="The address whose data is to be erased."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Erase a person's data (GDPR); a hashed suppression entry stays so they are never mailed."""
    rt = runtime()
    with rt.db.session() as session:
        result = erase_person(session, email)
    if as_json:
        print_json(
            {
                "found": result.found,
                "email_hash": result.email_hash,
                "suppression": result.suppression_reason,
            }
        )
    elif result.found:
        console.print(f"erased; suppression kept ({result.suppression_reason})")
    else:
        console.print(
            f"no subscriber with that address; suppression recorded ({result.suppression_reason})"
        )
