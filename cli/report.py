"""`broadsheet report ...`: a campaign's outcome, sponsors' impressions and clicks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from cli.common import console, err_console, one_line_errors, print_json, runtime
from feedback.plot import write_timeline_png
from feedback.reports import (
    CampaignReport,
    SponsorReport,
    campaign_report,
    campaign_timeline,
    sponsor_report,
)

report_app = typer.Typer(help="Campaign and sponsor reports.", no_args_is_help=True)


@report_app.command("campaign")
@one_line_errors
def campaign(
    campaign_id: int = typer.Argument(..., min=1, max=2**63 - 1, help="The campaign id."),
    plot: Path | None = typer.Option(
        None, help="Also write deliveries and clicks over time (PNG)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Audience, sent, delivered, bounces, complaints, unsubscribes, opens, clicks per link."""
    rt = runtime()
    with rt.db.session() as session:
        report = campaign_report(session, campaign_id)
        timeline = campaign_timeline(session, campaign_id) if plot else None
    if plot and timeline is not None:
        write_timeline_png(timeline, plot)
    if as_json:
        print_json(report.as_dict())
    else:
        _print_campaign(report)
    if plot:
        # stderr under --json, so that stdout stays one JSON document for scripts.
        (err_console if as_json else console).print(f"plot written to {plot}")


def _print_campaign(report: CampaignReport) -> None:
    table = Table("measure", "value", title=f"Campaign {report.campaign_id}: {report.subject}")
    opens = report.opens
    open_note = (
        f"{opens.unique} ({opens.human} likely human"
        + (", [yellow]unreliable: machine opens likely[/yellow]" if opens.unreliable else "")
        + ")"
    )
    for name, value in [
        ("status", report.status),
        ("audience", report.audience),
        ("sent", report.sent),
        ("delivered", report.delivered),
        ("bounced (hard)", report.bounced),
        ("soft bounced", report.soft_bounced),
        ("dropped", report.dropped),
        ("complaints", report.complaints),
        ("unsubscribes", report.unsubscribes),
        ("unique opens", open_note),
        ("unique clicks", report.unique_clicks),
        ("uncertain now", report.uncertain),
        ("confirmed by events", report.confirmed),
        ("re-sent", report.resent),
        ("held for the admin", report.held),
    ]:
        table.add_row(name, str(value))
    console.print(table)
    if report.clicks_per_link:
        links = Table("link", "clicks", "unique", title="Clicks per link")
        for link in report.clicks_per_link:
            links.add_row(link.url, str(link.clicks), str(link.unique))
        console.print(links)


@report_app.command("sponsors")
@one_line_errors
def sponsors(
    start: dt.datetime | None = typer.Option(
        None, "--from", formats=["%Y-%m-%d"], help="First send day (UTC), inclusive."
    ),
    end: dt.datetime | None = typer.Option(
        None, "--to", formats=["%Y-%m-%d"], help="Last send day (UTC), inclusive."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per sponsor and campaign: impressions, clicks, unique clicks and CTR."""
    first, last = (start.date() if start else None), (end.date() if end else None)
    if first and last and last < first:
        raise ValueError("--to is before --from")
    rt = runtime()
    with rt.db.session() as session:
        reports = sponsor_report(session, first, last)
    if as_json:
        print_json([r.as_dict() for r in reports])
        return
    _print_sponsors(reports)


def _print_sponsors(reports: list[SponsorReport]) -> None:
    table = Table("sponsor", "campaign", "impressions", "clicks", "unique clicks", "CTR")
    for report in reports:
        for row in report.campaigns:
            table.add_row(
                report.sponsor,
                str(row.campaign_id),
                str(row.impressions),
                str(row.clicks),
                str(row.unique_clicks),
                f"{row.ctr:.2%}",
            )
        table.add_row(
            f"[bold]{report.sponsor}[/bold]",
            "all",
            str(report.impressions),
            str(report.clicks),
            str(report.unique_clicks),
            f"[bold]{report.ctr:.2%}[/bold]",
            end_section=True,
        )
    if not reports:
        console.print("no sponsored deliveries in this range")
        return
    console.print(table)
