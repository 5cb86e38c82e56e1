"""Scale: a list imported through the CLI and sent at once, at 100,000 and 1,000,000.

What a creator does on a new server: `broadsheet subscribers import` a CSV,
then send, with no maintenance step in between, on this machine's PostgreSQL
(autovacuum off, so nothing gathers statistics but the code itself). Per
size, from a fresh database: the import runs as the real command (a
subprocess); then a Celery worker (as `bench/campaign.py` starts it: threads,
8) sends a 2,000-person warm-up campaign to another list that was in the same
file, and the clock runs from enqueueing `send_campaign` for the whole list to
the campaign's `sent` (the fake SendGrid answers after 50 ms). The 1,000,000
list is then imported and sent once more, from a fresh database, with two
worker processes.

Printed: recipients/s per size, worker peak memory (summed RSS of the worker's
processes), the ledger's bytes per recipient (table and indexes over rows)
and what a year of three sends a week to the list would keep in the ledger:
per-delivery rows for `DELIVERY_RETENTION_DAYS` (the retention default) plus
one roll-up row per campaign, against keeping every row for ever.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import text

from bench.campaign import (
    KEY,
    LATENCY,
    RssSampler,
    throwaway_database,
    wait_sent,
    worker_env,
)
from bench.common import REDIS_URL, REPO_ROOT, Figure
from campaigns.compose import create_campaign
from cli.main import MALLOC_ARENAS
from config.resources import SITE_EXAMPLE
from config.settings import Settings, load_settings
from config.site import SiteConfig, load_site
from db.engine import Database
from db.migrate import upgrade
from tasks.app import make_celery
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.processes import stop

SECTION = "scale"
TARGET_RATE = 30_000.0  # recipients/s at 1,000,000, right after the import
TARGET_MEMORY_MB = 150.0
WARM_UP = 2_000
SENDS_PER_WEEK = 3
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "8"))


@dataclass(frozen=True)
class Send:
    recipients: int
    seconds: float
    peak_rss_mb: float  # the largest single worker process
    workers: int

    @property
    def rate(self) -> float:
        return self.recipients / self.seconds


@dataclass(frozen=True)
class SizeResult:
    size: int
    import_seconds: float
    first: Send
    ledger_bytes_per_row: float


def run(quick: bool) -> list[Figure]:
    sizes = [20_000, 100_000] if quick else [100_000, 1_000_000]
    results = [measure(size, workers=1) for size in sizes]
    two = measure(sizes[-1], workers=2)
    figures: list[Figure] = []
    for r in [*results, two]:
        big = r.size == sizes[-1]
        how = f"{r.first.workers} worker process{'es' if r.first.workers > 1 else ''}"
        label = f"{r.size:,}" + (", two workers" if r.first.workers > 1 else "")
        figures.append(
            Figure(SECTION, f"import {label} through the CLI", r.size / r.import_seconds,
                   "rows/s", note=f"{r.import_seconds:.1f}s, `broadsheet subscribers import`")
        )  # fmt: skip
        figures.append(
            Figure(SECTION, f"send {label} right after the import", r.first.rate,
                   "recipients/s", TARGET_RATE if big and not quick else None,
                   note=f"{r.first.seconds:.1f}s, {how} (threads, {WORKER_CONCURRENCY} "
                        "each); the fake SendGrid answers in 50 ms")
        )  # fmt: skip
        figures.append(Figure(SECTION, f"send time per 1,000 at {label}", 1e6 / r.first.rate, "ms"))
        figures.append(
            Figure(SECTION, f"worker peak memory at {label}", r.first.peak_rss_mb, "MB",
                   TARGET_MEMORY_MB, direction="max",
                   note="RSS of the largest worker process")
        )  # fmt: skip
    small, large = results[0], results[-1]
    figures.append(
        Figure(SECTION, f"per-recipient cost, {large.size:,} over {small.size:,}",
               small.first.rate / large.first.rate, "x", 1.0, direction="max",
               note="send time per recipient at the larger list over the smaller")
    )  # fmt: skip
    figures.append(
        Figure(SECTION, f"ledger bytes per recipient at {large.size:,}",
               large.ledger_bytes_per_row, "B", note="deliveries table + indexes / rows")
    )  # fmt: skip
    kept, forever = ledger_projection(large.size, large.ledger_bytes_per_row)
    figures.append(
        Figure(SECTION, f"ledger after a year, {large.size:,} x {SENDS_PER_WEEK} a week",
               kept / 1e9, "GB",
               note=f"per-delivery rows kept {retention_days()} days (the default) and one "
                    f"roll-up per campaign; every row kept: {forever / 1e9:,.1f} GB")
    )  # fmt: skip
    return figures


def retention_days() -> int:
    return int(Settings.model_fields["delivery_retention_days"].default)


def ledger_projection(size: int, bytes_per_row: float) -> tuple[float, float]:
    """(bytes kept with the retention default, bytes if every row were kept) after a year."""
    sends_kept = SENDS_PER_WEEK * retention_days() / 7
    sends_year = SENDS_PER_WEEK * 52
    return sends_kept * size * bytes_per_row, sends_year * size * bytes_per_row


def measure(size: int, *, workers: int) -> SizeResult:
    fake = FakeSendGrid(api_key=KEY, keep_bodies=False).start()
    fake.set_faults(latency=LATENCY)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp:
            db = Database.from_url(url)
            upgrade(db.engine)
            csv_path = write_csv(Path(tmp) / "people.csv", size)
            env = worker_env(url, fake.url)
            started = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).parent / "broadsheet"), "subscribers", "import",
                 str(csv_path), "--confirmed", "--json"],
                env=env, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            import_seconds = time.perf_counter() - started
            first = send(db, load_site(SITE_EXAMPLE), env, fake, size, workers=workers)
            ledger = ledger_bytes_per_row(db)
            db.engine.dispose()
        return SizeResult(size, import_seconds, first, ledger)
    finally:
        client.flushdb()
        client.close()
        fake.stop()


def write_csv(path: Path, size: int) -> Path:
    """`size` people on the list `videos` and the warm-up's people on `weekly`."""
    with path.open("w") as fh:
        fh.write("email,name,lists\n")
        for n in range(WARM_UP):
            fh.write(f"warm{n}@example.org,Warm {n},weekly\n")
        for n in range(size):
            fh.write(f"reader{n}@example.org,Reader {n},videos\n")
    return path


def send(
    db: Database, site: SiteConfig, env: dict[str, str], fake: FakeSendGrid, size: int, workers: int
) -> Send:
    with db.session() as session:
        warm_id = create_campaign(
            session,
            site,
            lists=["weekly"],
            subject="Warm",
            intro="A note.",
        ).id
        campaign_id = create_campaign(
            session,
            site,
            lists=["videos"],
            subject="Scale",
            intro="A note.",
        ).id
    broker = make_celery(load_settings(database_url=env["DATABASE_URL"], redis_url=REDIS_URL))
    with ExitStack() as stack:
        pids = [stack.enter_context(worker(env, n)) for n in range(workers)]
        broker.send_task("tasks.sending.send_campaign", args=[warm_id])
        wait_sent(db, warm_id, timeout=600)
        fake.reset()
        samplers = [RssSampler(pid) for pid in pids]
        for sampler in samplers:
            sampler.start()
        started = time.time()
        broker.send_task("tasks.sending.send_campaign", args=[campaign_id])
        finished = wait_sent(db, campaign_id, timeout=1800)
        for sampler in samplers:
            sampler.stop()
    accepted = fake.counts["accepted_recipients"]
    if accepted != size:
        raise AssertionError(f"the fake accepted {accepted} recipients, expected {size}")
    peak = max(s.peak for s in samplers) / (1024 * 1024)
    return Send(size, finished.timestamp() - started, peak, workers)


def ledger_bytes_per_row(db: Database) -> float:
    with db.engine.connect() as conn:
        size = conn.scalar(text("SELECT pg_total_relation_size('deliveries')"))
        rows = conn.scalar(text("SELECT count(*) FROM deliveries"))
    return float(size or 0) / max(int(rows or 0), 1)


@contextmanager
def worker(env: dict[str, str], number: int) -> Iterator[int]:
    """One `celery worker` process (threads), as bench/campaign.py starts it."""
    command = [
        sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker",
        "--loglevel=WARNING", "--pool=threads", f"--concurrency={WORKER_CONCURRENCY}",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", f"scale-{os.getpid()}-{number}@%h",
    ]  # fmt: skip
    log = Path(REPO_ROOT / "var" / f"bench-scale-worker-{number}.log")
    log.parent.mkdir(exist_ok=True)
    # As `broadsheet worker` starts it (cli/main.py: at most two malloc arenas).
    env = {"MALLOC_ARENA_MAX": MALLOC_ARENAS, **env}
    process = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        time.sleep(3.5)  # threads start inside the one process
        yield process.pid
    finally:
        stop(process, timeout=30)
