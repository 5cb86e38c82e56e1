"""`broadsheet campaign ...`: create, list, send, test, status, pause, resume, cancel."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from campaigns.compose import create_campaign
from campaigns.preview import get_campaign, preview
from cli.common import console, one_line_errors, print_json, runtime
from db.models import Campaign
from delivery import campaign_send
from delivery.ledger import counts_by_status

# A campaign in one of these states will not move on its own: `--wait` stops there.
SETTLED = {"sent", "paused", "cancelled", "failed"}

campaign_app = typer.Typer(help="Create, preview and send campaigns.", no_args_is_help=True)


@campaign_app.command("create")
@one_line_errors
def create(
    lists: list[str] = typer.Option(None, "--list", "-l", help="Audience list (repeatable)."),
    posts: str | None = typer.Option(None, help="Post ids, comma-separated (default: new posts)."),
    subject: str | None = typer.Option(
        None,
        help="Subject template with lead, posts and newsletter, e.g. 'New: {{ lead.title }}' "
        "(default: the lead post's title).",
    ),
    intro: str = typer.Option(
        "", help="A short note above the posts; a campaign needs posts or an intro."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the campaign as JSON."),
) -> None:
    """Compose a draft campaign from new posts (or the posts given)."""
    rt = runtime()
    post_ids = [int(p) for p in posts.split(",") if p.strip()] if posts else None
    with rt.db.session() as session:
        campaign = create_campaign(
            session,
            rt.site,
            lists=lists or rt.site.default_lists(),
            post_ids=post_ids,
            subject=subject,
            intro=intro,
        )
        data = _summary(campaign, {})
    if as_json:
        print_json(data)
    else:
        typer.echo(campaign.id)


@campaign_app.command("list")
@one_line_errors
def list_campaigns(
    limit: int = typer.Option(20, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recent campaigns with their status and delivery counts."""
    rt = runtime()
    with rt.db.session() as session:
        rows = [
            _summary(c, counts_by_status(session, c.id))
            for c in session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit))
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "status", "subject", "lists", "posts", "sent")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["status"]),
            str(row["subject"]),
            ", ".join(row["lists"]),  # type: ignore[arg-type]
            str(len(row["post_ids"])),  # type: ignore[arg-type]
            str(row["deliveries"].get("sent", 0)),  # type: ignore[attr-defined]
        )
    console.print(table)


def _summary(campaign: Campaign, counts: dict[str, int]) -> dict[str, object]:
    return {
        "id": campaign.id,
        "status": campaign.status.value,
        "subject": campaign.subject,
        "lists": campaign.list_slugs,
        "post_ids": campaign.post_ids,
        "created_at": campaign.created_at.isoformat(),
        "deliveries": counts,
    }


@campaign_app.command("preview")
@one_line_errors
def preview_command(
    campaign_id: int = typer.Argument(..., metavar="ID", help="The campaign to preview."),
    as_email: str | None = typer.Option(
        None, "--as", help="Fill links as this subscriber (their real, signed links)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the HTML part here (a .txt name writes the text part)."
    ),
) -> None:
    """Show the edition as it will be sent: the text part here, or HTML into --out."""
    rt = runtime()
    with rt.db.session() as session:
        shown = preview(session, rt.site, rt.links, get_campaign(session, campaign_id), as_email)
    if out is None:
        typer.echo(f"Subject: {shown.subject}\n\n{shown.text}", nl=False)
        return
    out.write_text(shown.text if out.suffix == ".txt" else shown.html, encoding="utf-8")
    typer.echo(f"wrote {out} (variant {shown.variant}, subject: {shown.subject})")


def parse_time(value: str, tz: dt.tzinfo) -> dt.datetime:
    """ISO 8601 ('2026-12-01T09:00', '2026-12-01 09:00+01:00'); no offset means the site's zone."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"time {value!r} is not ISO 8601, e.g. 2026-12-01T09:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.UTC)


@campaign_app.command("send")
@one_line_errors
def send(
    campaign_id: int = typer.Argument(..., help="The campaign id."),
    at: str | None = typer.Option(None, "--at", help="Send later, e.g. 2026-12-01T09:00."),
    local_time: str | None = typer.Option(
        None, "--local-time", help="HH:MM in each subscriber's time zone, e.g. 09:00."
    ),
    wait: bool = typer.Option(False, "--wait", help="Show progress until the campaign settles."),
) -> None:
    """Send a campaign now, at a time, or at a local time per subscriber."""
    from tasks.sending import send_campaign

    rt = runtime()
    send_at = parse_time(at, rt.site.newsletter.tz) if at else None
    campaign_send.schedule(rt.db, campaign_id, send_at=send_at, local_time=local_time)
    if send_at is None:
        send_campaign.delay(campaign_id)
        console.print(f"campaign {campaign_id}: sending")
    else:
        console.print(f"campaign {campaign_id}: scheduled for {send_at.isoformat()}")
    if wait:
        _wait(campaign_id)


def _wait(campaign_id: int, poll_seconds: float = 0.5) -> None:
    rt = runtime()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"campaign {campaign_id}", total=None, detail="")
        while True:
            p = campaign_send.progress(rt.db, campaign_id)
            c = p.counts
            detail = f"{p.status}: {c['sent']} sent, {c['failed']} failed, {c['skipped']} skipped"
            if p.waiting:
                detail += f", {p.waiting} waiting for local time"
            bar.update(task, total=p.total or None, completed=p.done, detail=detail)
            if p.status in SETTLED:
                break
            time.sleep(poll_seconds)
    final = campaign_send.progress(rt.db, campaign_id)
    if final.status_reason:
        console.print(f"{final.status}: {final.status_reason}")


@campaign_app.command("test")
@one_line_errors
def test_send(
    campaign_id: int = typer.Argument(..., help="The campaign id."),
    to: str = typer.Option(..., "--to", help="Where to send the test copy."),
) -> None:
    """Send one [TEST] copy to an address; no subscriber is mailed and nothing is recorded."""
    rt = runtime()
    campaign_send.send_test(rt.db, rt.site, rt.sender, rt.links, campaign_id, to)
    console.print(f"test copy of campaign {campaign_id} sent to {to} via {rt.sender.name}")


@campaign_app.command("status")
@one_line_errors
def status(
    campaign_id: int = typer.Argument(..., help="The campaign id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The campaign's state and its deliveries counted by state."""
    p = campaign_send.progress(runtime().db, campaign_id)
    if as_json:
        print_json(p.as_dict())
        return
    console.print(
        f"campaign {p.id}: [bold]{p.status}[/bold]"
        + (f" ({p.status_reason})" if p.status_reason else "")
    )
    table = Table("delivery state", "count")
    for state, n in p.counts.items():
        table.add_row(state, str(n))
    if p.waiting:
        table.add_row("(queued, waiting for local time)", str(p.waiting))
    console.print(table)


@campaign_app.command("pause")
@one_line_errors
def pause(campaign_id: int = typer.Argument(..., help="The campaign id.")) -> None:
    """Stop claiming new batches; queued deliveries wait for `resume`."""
    campaign_send.pause(runtime().db, campaign_id)
    console.print(f"campaign {campaign_id}: paused")


@campaign_app.command("resume")
@one_line_errors
def resume(campaign_id: int = typer.Argument(..., help="The campaign id.")) -> None:
    """Continue a paused campaign where it stopped."""
    from tasks.sending import send_campaign

    campaign_send.resume(runtime().db, campaign_id)
    send_campaign.delay(campaign_id)
    console.print(f"campaign {campaign_id}: sending")


@campaign_app.command("cancel")
@one_line_errors
def cancel(campaign_id: int = typer.Argument(..., help="The campaign id.")) -> None:
    """Stop for good: deliveries not yet sent are marked skipped."""
    skipped = campaign_send.cancel(runtime().db, campaign_id)
    console.print(f"campaign {campaign_id}: cancelled ({skipped} queued deliveries skipped)")
