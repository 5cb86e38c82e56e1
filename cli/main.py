"""The `broadsheet` command."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from urllib.parse import urlsplit

import typer
import uvicorn
from rich.progress import Progress

from cli.admin import admin_app
from cli.campaign import campaign_app
from cli.common import console, err_console, one_line_errors, runtime
from cli.feeds import feeds_app, posts_app
from cli.report import report_app
from cli.sponsors import sponsors_app
from cli.subscribers import subscribers_app
from config.resources import SITE_EXAMPLE
from config.runtime import Runtime
from config.settings import is_loopback

app = typer.Typer(
    help="Broadsheet: a self-hosted newsletter engine for creators.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(admin_app, name="admin")
app.add_typer(campaign_app, name="campaign")
app.add_typer(feeds_app, name="feeds")
app.add_typer(posts_app, name="posts")
app.add_typer(report_app, name="report")
app.add_typer(sponsors_app, name="sponsors")
app.add_typer(subscribers_app, name="subscribers")


@app.command()
@one_line_errors
def init() -> None:
    """Create or upgrade the database and write site.toml from the example if missing."""
    from db.migrate import upgrade

    rt = runtime()
    target = rt.settings.site_config
    if not target.exists():
        shutil.copyfile(SITE_EXAMPLE, target)
        console.print(f"wrote {target} from site.example.toml: edit it to describe your newsletter")
    rt.site  # noqa: B018 - validate the site file now, not on the first send
    upgrade(rt.db.engine)
    from sponsorship.source import import_site_sponsors

    with rt.db.session() as session:  # once: from then on the sponsor desk is the source
        names = import_site_sponsors(session, rt.site, str(target))
    if names:
        console.print(f"imported {len(names)} sponsor(s) from {target} into the sponsor desk")
    console.print(f"database ready: {rt.db.engine.url.render_as_string(hide_password=True)}")


@app.command()
@one_line_errors
def demo() -> None:
    """Run the whole pipeline on bundled sample feeds; emails land in an outbox folder."""
    from cli.demo import run_demo

    with Progress(console=console, transient=True) as progress:
        result = run_demo(progress=progress)
    console.print(
        f"[green]demo done[/green]: campaign {result.campaign_id}, "
        f"{result.counts['sent']} sent, {result.counts['failed']} failed"
    )
    console.print(f"  emails (.eml):  {result.outbox}")
    console.print(f"  browse them:    {result.outbox / 'index.html'}")
    console.print(f"  database:       {result.database}")


@app.command()
@one_line_errors
def web(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, envvar="PORT", help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, help="Processes serving requests; one per core in production (with Redis)."
    ),
) -> None:
    """Run the web app (public pages, admin API, webhooks)."""
    rt = _started()
    rt.settings.check_listen(host)
    _warn_if_links_point_elsewhere(rt, port)
    uvicorn.run("web.asgi:app", host=host, port=port, proxy_headers=True, workers=workers)


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", *args]


@app.command()
@one_line_errors
def worker(
    pool: str = typer.Option(
        "threads", help="Celery pool: threads (recommended; batches mostly wait) or prefork."
    ),
    concurrency: int = typer.Option(8, help="Threads (or processes with --pool prefork)."),
) -> None:
    """Run a Celery worker (needs REDIS_URL)."""
    _require_redis()
    os.execve(sys.executable, _worker_command(pool, concurrency), worker_environment())


# glibc gives each thread that allocates its own malloc arena (up to 8 per core), and
# each keeps freed memory: a worker of eight threads sending 100,000 recipients peaked
# at 146 MB with them, 139 MB with two (bench/scale.py). The GIL lets one thread
# allocate at a time, so more arenas buy no speed. Read by glibc at process start.
MALLOC_ARENAS = "2"


def worker_environment() -> dict[str, str]:
    """This process's environment for a worker: at most MALLOC_ARENAS arenas unless set."""
    return {"MALLOC_ARENA_MAX": MALLOC_ARENAS, **os.environ}


def _warn_if_links_point_elsewhere(rt: Runtime, port: int) -> None:
    """Emailed links (confirm, unsubscribe) use the base URL. When it names this machine
    on another port, every link a tester clicks is dead: say so once, at start-up.
    A public base URL is left alone (a proxy in front may well use another port)."""
    base = urlsplit(rt.base_url)
    if base.hostname is None or not is_loopback(base.hostname):
        return
    linked = base.port or (443 if base.scheme == "https" else 80)
    if linked != port:
        wanted = base._replace(netloc=f"{base.hostname}:{port}").geturl()
        err_console.print(
            f"[yellow]warning[/yellow]: links in emails point to {rt.base_url}, but this "
            f"server listens on port {port}: set base_url in the site file (or BASE_URL) "
            f"to {wanted}",
            soft_wrap=True,  # one line in a log, whatever the terminal's width
        )


def _worker_command(pool: str = "threads", concurrency: int = 8) -> list[str]:
    if pool not in ("threads", "prefork"):
        raise ValueError(f"--pool must be threads or prefork, not {pool!r}")
    return _celery("worker", "--loglevel=INFO", f"--pool={pool}", f"--concurrency={concurrency}")


@app.command()
@one_line_errors
def beat() -> None:
    """Run Celery beat, which triggers feed polls and schedules (needs REDIS_URL)."""
    _require_redis()
    os.execv(sys.executable, _beat_command())


def _beat_command() -> list[str]:
    """Celery beat, keeping its last-run times in DATA_DIR."""
    schedule_file = runtime().settings.beat_schedule_file
    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    return _celery("beat", "--loglevel=INFO", f"--schedule={schedule_file}")


@app.command()
@one_line_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Web, worker and beat on one machine: processes with REDIS_URL, threads without."""
    rt = _started()
    rt.settings.check_listen(host)
    _warn_if_links_point_elsewhere(rt, port)
    if rt.settings.embedded:
        from tasks.embedded import start_embedded_beat

        console.print("embedded mode (no REDIS_URL): tasks and beat run inside this process")
        _log_task_lines()
        stop = start_embedded_beat()
        try:
            uvicorn.run("web.asgi:app", host=host, port=port)
        finally:
            stop.set()
        return
    children = [
        subprocess.Popen(_worker_command(), env=worker_environment()),
        subprocess.Popen(_beat_command()),
    ]
    try:
        uvicorn.run("web.asgi:app", host=host, port=port)
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=30)


# The packages whose INFO lines (a schedule fired, a feed's first poll, a
# confirmation re-queued) say what the tasks did. A Celery worker prints them
# itself; in embedded mode nothing else sets up logging, so they were lost.
OUR_PACKAGES = ("tasks", "campaigns", "content", "delivery", "feedback", "subscribers")


def _log_task_lines() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-9s %(name)s: %(message)s"))
    for name in OUR_PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False  # one line each, even if something configures the root


def _started() -> Runtime:
    """The runtime, with the site file read now: a missing or broken file stops the
    start-up with its one-line reason, instead of a server that answers 500."""
    rt = runtime()
    rt.site  # noqa: B018 - load and validate
    return rt


def _require_redis() -> None:
    if _started().settings.embedded:
        raise ValueError("REDIS_URL is not set: use `broadsheet serve` for the embedded mode")


if __name__ == "__main__":
    app()
