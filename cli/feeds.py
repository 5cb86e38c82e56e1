"""`broadsheet feeds list | poll` and `broadsheet posts list`."""

from __future__ import annotations

import datetime as dt

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, one_line_errors, print_json, runtime
from content.polling import DEFAULT_WORKERS, PollReport, poll_feeds
from content.status import feed_statuses, recent_posts

feeds_app = typer.Typer(help="Feeds: their status, and polling them now.", no_args_is_help=True)
posts_app = typer.Typer(help="Posts found in the feeds.", no_args_is_help=True)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@feeds_app.command("list")
@one_line_errors
def list_feeds(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each feed with its status, last success, last error and post count."""
    rt = runtime()
    with rt.db.session() as session:
        statuses = feed_statuses(session, rt.site)
    if as_json:
        print_json([s.as_dict() for s in statuses])
        return
    table = Table("feed", "kind", "status", "last success", "posts", "last error")
    for s in statuses:
        colour = {"ok": "green", "failing": "red"}.get(s.status, "yellow")
        status = f"{s.status} ({s.error_count}x)" if s.error_count else s.status
        table.add_row(
            s.name,
            s.kind,
            f"[{colour}]{status}[/{colour}]",
            _when(s.last_success_at),
            str(s.posts),
            s.last_error or "",
        )
    console.print(table)


@feeds_app.command("poll")
@one_line_errors
def poll(
    feed: str | None = typer.Option(None, help="Poll only this feed (default: every feed)."),
    workers: int = typer.Option(DEFAULT_WORKERS, min=1, max=64, help="Feeds fetched at once."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per feed."),
    backfill: int | None = typer.Option(
        None,
        min=0,
        help="On a feed's first poll, mail its newest N entries too "
        "(default: the feed's `backfill` setting, else none).",
    ),
) -> None:
    """Poll feeds now, whatever their schedule; exits 1 if any feed failed.

    A feed's first poll records the entries it already lists as published:
    they are never mailed, except the newest --backfill N."""
    rt = runtime()
    configs = list(rt.site.feeds)
    if feed is not None:
        chosen = rt.site.feed(feed)
        if chosen is None:
            raise LookupError(f"no feed named {feed!r} in the site file")
        configs = [chosen]
    columns = (TextColumn("polling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("poll", total=len(configs))
        reports = poll_feeds(
            rt.db,
            rt.site,
            configs,
            workers=workers,
            on_report=lambda _r: progress.advance(task),
            backfill=backfill,
        )
    if as_json:
        print_json([_report_dict(r) for r in reports])
    else:
        _print_reports(reports, backfill)
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


def _report_dict(report: PollReport) -> dict[str, object]:
    return {
        "feed": report.feed,
        "ok": report.ok,
        "not_modified": report.not_modified,
        "new": report.stored.new,
        "updated": report.stored.updated,
        "unchanged": report.stored.unchanged,
        "skipped": report.skipped,
        "notes": report.notes,
        "error": report.error,
        "first_poll": report.first_poll,
        "backlog": report.stored.backlog,
        "backfilled": report.stored.backfilled,
    }


def _print_reports(reports: list[PollReport], backfill: int | None) -> None:
    table = Table("feed", "result", "new", "updated", "skipped")
    for r in sorted(reports, key=lambda r: r.feed):
        if not r.ok:
            result = f"[red]error[/red]: {r.error}"
        else:
            result = "[green]not modified[/green]" if r.not_modified else "[green]ok[/green]"
        table.add_row(r.feed, result, str(r.stored.new), str(r.stored.updated), str(len(r.skipped)))
    console.print(table)
    for r in sorted(reports, key=lambda r: r.feed):
        if r.first_poll:
            console.print(f"  {r.feed}: {r.first_poll_note()}", highlight=False)
        elif backfill is not None and r.ok:
            console.print(
                f"  {r.feed}: --backfill applies to a feed's first poll only; nothing backfilled",
                highlight=False,
            )
    for r in reports:
        for line in [*r.skipped, *r.notes]:
            console.print(f"  {r.feed}: {line}", highlight=False)


@posts_app.command("list")
@one_line_errors
def list_posts(
    feed: str | None = typer.Option(None, help="Only posts of this feed."),
    limit: int = typer.Option(20, min=1, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recent posts, newest first (by when Broadsheet first saw them)."""
    rt = runtime()
    if feed is not None and rt.site.feed(feed) is None:
        raise LookupError(f"no feed named {feed!r} in the site file")
    with rt.db.session() as session:
        posts = recent_posts(session, feed=feed, limit=limit)
    if as_json:
        print_json([p.as_dict() for p in posts])
        return
    table = Table("id", "feed", "kind", "title", "published", "mailable from")
    for p in posts:
        mailable = "never (already published)" if p.backlog else _when(p.available_at)
        table.add_row(str(p.id), p.feed, p.kind, p.title, _when(p.published_at), mailable)
    console.print(table)
