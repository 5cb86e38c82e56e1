"""`broadsheet campaign ...`: create, list, and (in later issues) preview, send, status."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from campaigns.compose import create_campaign
from campaigns.preview import get_campaign, preview
from cli.common import console, one_line_errors, print_json, runtime
from db.models import Campaign
from delivery.ledger import counts_by_status

campaign_app = typer.Typer(help="Create, preview and send campaigns.", no_args_is_help=True)


@campaign_app.command("create")
@one_line_errors
def create(
    lists: list[str] = typer.Option(None, "--list", "-l", help="Audience list (repeatable)."),
    posts: str | None = typer.Option(None, help="Post ids, comma-separated (default: new posts)."),
    subject: str | None = typer.Option(None, help="Subject; Jinja, e.g. '{{ lead.title }}'."),
    intro: str = typer.Option("", help="A short note shown above the posts."),
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
