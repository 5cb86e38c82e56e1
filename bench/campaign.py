"""Campaign send throughput and worker memory, against a naive design, in one run.

Setup per size: a throw-away PostgreSQL database seeded with COPY, Redis (the
database in BENCH_REDIS_URL, default 14, flushed before and after), the fake SendGrid on
loopback answering after 50 ms, and the Celery worker as the README
recommends for two cores. The worker first sends a 2,000-recipient warm-up
campaign to another list (a worker lives through many campaigns; its first
seconds of opening connections are not what a send costs); then the clock
runs from enqueueing `send_campaign` to the campaign's `sent` state. Each
size is measured BENCH_REPEATS times (3; once with --quick) from scratch and
the median send is reported, with every rate in the note. Worker memory is
the summed RSS of the worker's processes (parent and pool children), sampled
every 100 ms; its peak over the repeats is reported per size so growth with
list size shows. The worker's CPU time per 1,000 recipients and the naive
design's rate show how fast the shared machine was at the moment: the same
code has measured anywhere from 24 to 44 ms per 1,000 on it.

The naive design (one task and one SendGrid call per email) runs on a
smaller list in the same run; the ratio compares recipients/s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import REDIS_URL, REPO_ROOT, Figure, children, cpu_ticks
from campaigns.compose import create_campaign
from config.resources import SITE_EXAMPLE
from config.settings import load_settings
from config.site import load_site
from db.engine import Database
from db.migrate import upgrade
from db.models import Campaign, CampaignStatus
from tasks.app import make_celery
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.processes import stop

SECTION = "campaign"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
KEY = "SG.bench"
LATENCY = 0.05
# The README's recommendation for two cores (see "## Sending").
WORKER_POOL = os.environ.get("BENCH_WORKER_POOL", "threads")
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "8"))
TARGET_RATE = 20_000.0
TARGET_MEMORY_MB = 200.0
WARM_UP = 2_000  # recipients of the campaign that warms the worker up, on another list
# Sends per size, each from a fresh database and worker; the median is reported. A
# shared machine's speed wanders, and one send of 100,000 lasts five seconds.
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


@dataclass(frozen=True)
class Run:
    recipients: int
    seconds: float
    peak_rss_mb: float
    peak_pss_mb: float  # shared pages counted once: what prefork children really add
    accepted: int
    cpu_seconds: float  # user + sys of the worker's processes while sending

    @property
    def cpu_ms_per_1000(self) -> float:
        return self.cpu_seconds * 1000 / self.recipients * 1000

    @property
    def rate(self) -> float:
        return self.recipients / self.seconds


def run(quick: bool) -> list[Figure]:
    sizes = [10_000] if quick else [10_000, 100_000, 300_000]
    naive_size = 500 if quick else 2_000
    repeats = 1 if quick else REPEATS
    figures: list[Figure] = []
    runs: dict[int, Run] = {}
    for size in sizes:
        sends = sorted((measure(size, naive=False) for _ in range(repeats)), key=lambda r: r.rate)
        r = runs[size] = sends[len(sends) // 2]
        rates = " / ".join(f"{s.rate:,.0f}" for s in sends)
        # The rate target is for the 100,000-recipient send; the other sizes
        # are there to show memory not growing with the list (a 10,000 send lasts
        # half a second, much of it start-up and the last batch's 50 ms).
        target = TARGET_RATE if size == 100_000 else None
        figures.append(
            Figure(SECTION, f"send {size:,} recipients", r.rate, "recipients/s", target,
                   note=f"median of {len(sends)} sends ({rates}/s); {r.seconds:.1f}s, "
                        f"{r.accepted:,} accepted by the fake")
        )  # fmt: skip
        figures.append(
            Figure(SECTION, f"worker CPU per 1,000 at {size:,}", r.cpu_ms_per_1000, "ms",
                   note="user+sys of worker processes in the median send; it rises when "
                        "the shared machine is slow")
        )  # fmt: skip
        peak = max(sends, key=lambda s: s.peak_rss_mb)
        figures.append(
            Figure(SECTION, f"worker peak memory at {size:,}", peak.peak_rss_mb, "MB",
                   TARGET_MEMORY_MB, direction="max",
                   note=f"sum of RSS over worker processes; PSS {peak.peak_pss_mb:.0f} MB")
        )  # fmt: skip
    naive = measure(naive_size, naive=True)
    figures.append(
        Figure(SECTION, f"naive design, {naive_size:,} recipients", naive.rate, "recipients/s",
               note=f"one task and one API call per email; peak {naive.peak_rss_mb:.0f} MB")
    )  # fmt: skip
    main = runs[100_000] if 100_000 in runs else runs[sizes[0]]
    figures.append(Figure(SECTION, "batched / naive speed", main.rate / naive.rate, "x"))
    return figures


def measure(size: int, *, naive: bool) -> Run:
    fake = FakeSendGrid(api_key=KEY, keep_bodies=False).start()
    fake.set_faults(latency=LATENCY)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        with throwaway_database() as url:
            db = Database.from_url(url)
            upgrade(db.engine)
            seed(db, size)
            seed(db, WARM_UP, list_slug="weekly", prefix="warm")
            site = load_site(SITE_EXAMPLE)
            with db.session() as session:
                warm_up_id = create_campaign(
                    session, site, lists=["weekly"], subject="Warm", intro="A note from the editor."
                ).id
                campaign_id = create_campaign(
                    session,
                    site,
                    lists=["videos"],
                    subject="Bench",
                    intro="A note from the editor.",
                ).id
            env = worker_env(url, fake.url)
            with worker(env) as pid:
                settings = load_settings(database_url=url, redis_url=REDIS_URL)
                broker = make_celery(settings)
                task = (
                    "bench.naive_tasks.send_campaign_naively"
                    if naive
                    else "tasks.sending.send_campaign"
                )
                # A worker serves many campaigns in its life: the measured one goes
                # to a worker that has connected and sent once (to people outside
                # the measured audience), not to one still opening connections.
                broker.send_task(task, args=[warm_up_id])
                wait_sent(db, warm_up_id, timeout=600)
                settle_writes(db)
                fake.reset()
                sampler = RssSampler(pid)
                sampler.start()
                started = time.time()
                broker.send_task(task, args=[campaign_id])
                finished = wait_sent(db, campaign_id, timeout=600)
                seconds = finished.timestamp() - started
                sampler.stop()
            db.engine.dispose()
        accepted = fake.counts["accepted_recipients"]
        if accepted != size:
            raise AssertionError(f"the fake accepted {accepted} recipients, expected {size}")
        mb = 1024 * 1024
        return Run(
            size, seconds, sampler.peak / mb, sampler.peak_pss / mb, accepted, sampler.cpu_seconds
        )
    finally:
        client.flushdb()
        client.close()
        fake.stop()


def settle_writes(db: Database) -> None:
    """Write out what setting up wrote (the seed, the new database) before the clock starts.

    The kernel writes dirty pages back up to half a minute later: without this,
    the send was charged for flushing the 100,000 subscribers seeded just before
    it (measured as kernel threads taking a tenth of the machine during the send).
    """
    with db.engine.connect() as conn:
        superuser = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        if superuser.scalar():
            conn.execute(text("CHECKPOINT"))
    os.sync()


@contextmanager
def throwaway_database() -> Iterator[str]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"broadsheet_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(db: Database, count: int, list_slug: str = "videos", prefix: str = "reader") -> None:
    """`count` confirmed subscribers on one list, written with COPY (300,000 in a few seconds)."""
    buffer = io.StringIO()
    for n in range(count):
        address = f"{prefix}{n}@example.org"
        digest = hashlib.sha256(address.encode()).hexdigest()
        buffer.write(f"{address}\t{digest}\tconfirmed\tinstant\t2026-01-01 00:00:00+00\t0\n")
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        columns = "email, email_hash, status, cadence, created_at, soft_bounces"
        with cursor.copy(f"COPY subscribers ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            "INSERT INTO subscriptions (subscriber_id, list_slug, created_at) "
            "SELECT id, %s, now() FROM subscribers s "
            "WHERE NOT EXISTS (SELECT 1 FROM subscriptions m WHERE m.subscriber_id = s.id)",
            (list_slug,),
        )
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def worker_env(database_url: str, sendgrid_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        MAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY=KEY,
        SENDGRID_API_HOST=sendgrid_url,
        SITE_CONFIG=str(SITE_EXAMPLE),
        BASE_URL="https://letters.example",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


@contextmanager
def worker(env: dict[str, str]) -> Iterator[int]:
    command = [
        sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker",
        "--loglevel=WARNING", f"--pool={WORKER_POOL}", f"--concurrency={WORKER_CONCURRENCY}",
        "--include=bench.naive_tasks",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", f"bench-{os.getpid()}@%h",
    ]  # fmt: skip
    log = Path(REPO_ROOT / "var" / "bench-worker.log")
    log.parent.mkdir(exist_ok=True)
    process = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        time.sleep(0.5)
        if WORKER_POOL == "prefork":
            wait_children(process.pid, WORKER_CONCURRENCY, timeout=30)
        else:
            time.sleep(3)  # threads start inside the one process
        yield process.pid
    finally:
        stop(process, timeout=30)


def wait_sent(db: Database, campaign_id: int, timeout: float) -> dt.datetime:
    """Wait for the campaign's `sent` state; returns when it was reached (`finished_at`).

    The end of the clock is the time the worker recorded, not the time this
    loop noticed: the poll can then be coarse (a fine one cost the machine a
    tenth of a core that the send itself was short of) without adding its
    interval to the measure. Both clocks are this machine's.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            if campaign.status is CampaignStatus.sent:
                assert campaign.finished_at is not None
                return campaign.finished_at
            if campaign.status not in (CampaignStatus.draft, CampaignStatus.sending):
                raise AssertionError(
                    f"campaign ended {campaign.status.value}: {campaign.status_reason}"
                )
        time.sleep(0.2)
    raise AssertionError(f"campaign not sent within {timeout}s (see var/bench-worker.log)")


def wait_children(pid: int, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(children(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def pss_bytes(pid: int) -> int:
    """Proportional set size: pages shared between forked processes count once in the sum."""
    return _proc_kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:") * 1024


def rss_bytes(pid: int) -> int:
    return _proc_kilobytes(f"/proc/{pid}/status", "VmRSS:") * 1024


def _proc_kilobytes(path: str, field: str) -> int:
    """A `field: N kB` line of a /proc file; 0 once the process is gone."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples the summed RSS of a process and its children in a thread, and their CPU time."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0
        self.peak_pss = 0
        self._samples = 0
        # Ticks per process at the start and latest sample: CPU spent while sending.
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def cpu_seconds(self) -> float:
        ticks = sum(last - self._first[pid] for pid, last in self._last.items())
        return ticks / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        pids = [self.pid, *children(self.pid)]
        self.peak = max(self.peak, sum(rss_bytes(p) for p in pids))
        # PSS every tenth sample: reading smaps_rollup walks the process's page
        # tables (2.5 ms for a worker's size), a cost the send would share the cores with.
        self._samples += 1
        if self._samples % 10 == 1:
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in pids))
        for pid in pids:
            ticks = cpu_ticks(pid)
            self._first.setdefault(pid, ticks)
            self._last[pid] = ticks

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)
