"""The chaos harness: a whole deployment of our own that the scenarios may break.

One `Deployment` is a private redis-server, a throw-away PostgreSQL database,
the fake SendGrid (in the test process, so it outlives every worker we kill),
Celery workers and beat as subprocesses, each in its own process group so a
SIGKILL of the group takes the pool with it. Nothing here touches the
machine's Redis or another test's database.

After the damage, `settle` does what production does over the next hour,
without waiting for it: the sweeper (rows left in `sending` become
`uncertain`, stalled fan-outs are re-run), SendGrid's events for every message
it accepted come back through the signed webhook, and reconciliation confirms
the uncertain rows those events name and re-sends the others once.
`tally` then counts what each address received.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from config.resources import SITE_EXAMPLE
from config.runtime import Runtime, set_runtime
from config.settings import Settings, load_settings
from db.engine import Database
from db.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from delivery import campaign_send, ledger
from feedback.apply import Rules, apply_events
from feedback.reconcile import Policy, reconcile
from tasks.app import make_celery
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.paths import REPO_ROOT
from tests.support.processes import settings_env, wait_for
from tests.support.sendgrid_events import Signer, body_of, event
from tests.support.servers import RedisServer
from web.app import create_app

API_KEY = "SG.chaos-key"
WORKER_CONCURRENCY = 4  # the README's advice for two cores: one process, four threads
EVENTS_PER_POST = 2000
# Far enough ahead that the sweeper counts every claim as lost and every fan-out as
# stalled, and reconciliation finds every uncertain row past its window.
LATER = campaign_send.LOST_AFTER + dt.timedelta(minutes=5)


def settled_rows(counts: dict[str, int]) -> int:
    """Rows whose send is over, one way or another (an uncertain row waits for reconciliation)."""
    return counts["sent"] + counts["uncertain"] + counts["failed"] + counts["skipped"]


@dataclass
class Process:
    """A worker or beat: its process (leader of its own group) and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole group: the worker and anything it started, mid-task."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=20)

    def stop(self) -> None:
        """Warm shutdown: running tasks finish, unstarted ones go back to the queue."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Settled:
    lost: int = 0  # rows the sweeper found stuck in `sending` (their worker was killed)
    rescued: int = 0  # fan-outs the sweeper re-ran (their tasks died with a worker)


@dataclass(frozen=True)
class Tally:
    recipients: int
    delivered_once: int
    duplicates: int  # addresses that got more than one message
    lost: int  # addresses that got nothing
    uncertain: int  # rows that were uncertain at some point (confirmed + resent + held)
    confirmed: int
    resent: int
    unexplained_duplicates: int  # duplicates whose row was never uncertain: a bug
    statuses: dict[str, int]
    campaign_status: str

    def line(self, scenario: str, extra: str = "") -> str:
        return (
            f"chaos {scenario}: recipients={self.recipients} "
            f"delivered_once={self.delivered_once} duplicates={self.duplicates} "
            f"lost={self.lost} uncertain={self.uncertain} (confirmed={self.confirmed} "
            f"resent={self.resent}){' ' + extra if extra else ''}"
        )

    def assert_invariants(self) -> None:
        assert self.lost == 0, f"{self.lost} recipients got nothing; ledger {self.statuses}"
        assert self.unexplained_duplicates == 0, (
            f"{self.unexplained_duplicates} duplicates were never accounted as uncertain"
        )
        assert self.delivered_once + self.duplicates == self.recipients
        assert self.campaign_status == "sent", self.campaign_status
        assert self.statuses["sent"] == self.recipients, self.statuses


@dataclass
class Deployment:
    directory: Path
    database_url: str
    site_config: Path = SITE_EXAMPLE
    redis: RedisServer = field(init=False)
    fake: FakeSendGrid = field(init=False)
    signer: Signer = field(default_factory=Signer)
    processes: list[Process] = field(default_factory=list)
    _posted: int = 0  # how many of the fake's accepted recipients have had their event
    _starts: Counter[str] = field(default_factory=Counter)
    swept_lost: int = 0  # totals over every sweep_later() call
    rescued: int = 0

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.directory / "redis")
        self.redis.start()
        self.fake = FakeSendGrid(api_key=API_KEY).start()
        self.db = Database.from_url(self.database_url)
        self.settings: Settings = load_settings(
            database_url=self.database_url,
            redis_url=self.redis.url,
            mail_backend="sendgrid",
            sendgrid_api_key=API_KEY,
            sendgrid_api_host=self.fake.url,
            sendgrid_webhook_public_key=self.signer.public_text,
            site_config=self.site_config,
            base_url="https://letters.example",
            secret_key="chaos-secret-key-0123456789abcdef",
            admin_token="chaos-admin-token-0123456789",
            outbox_dir=self.directory / "outbox",
            reconcile_after_minutes=1,
        )
        self.broker: Celery = make_celery(self.settings)
        # The web app in this process takes the events; it applies them inline (eager).
        local = Runtime(self.settings.model_copy(update={"redis_url": None}))
        local.__dict__["db"] = self.db
        set_runtime(local)
        self.web = TestClient(create_app(local))

    # -- processes -----------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = settings_env(self.settings, self.redis.url)
        env.update(
            SENDGRID_WEBHOOK_PUBLIC_KEY=self.signer.public_text,
            RECONCILE_AFTER_MINUTES="1",
        )
        return env

    def start_worker(self, name: str = "worker") -> Process:
        command = [
            sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker",
            "--loglevel=INFO", "--pool=threads", f"--concurrency={WORKER_CONCURRENCY}",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"{name}-{time.time_ns()}@%h",
        ]  # fmt: skip
        return self._start(name, command)

    def start_beat(self, app: str = "tests.chaos.beat_app:celery_app") -> Process:
        command = [
            sys.executable, "-m", "celery", "-A", app, "beat", "--loglevel=INFO",
            "-s", str(self.directory / "beat-schedule"),
        ]  # fmt: skip
        return self._start("beat", command)

    def _start(self, name: str, command: list[str]) -> Process:
        self._starts[name] += 1
        log = self.directory / f"{name}-{self._starts[name]}.log"
        popen = subprocess.Popen(
            command,
            env=self.env(),
            cwd=REPO_ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches the whole pool
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def running(self, name: str | None = None) -> list[Process]:
        return [
            p for p in self.processes if p.popen.poll() is None and (name is None or p.name == name)
        ]

    def logs(self, tail: int = 4000) -> str:
        parts = [f"--- {p.log.name} ---\n{p.log.read_text(errors='replace')[-tail:]}"
                 for p in self.processes if p.log.exists()]  # fmt: skip
        return "\n".join(parts)

    def close(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.kill()
        self.web.close()
        self.fake.stop()
        self.redis.stop()
        self.db.engine.dispose()
        set_runtime(None)

    # -- observing -----------------------------------------------------------------

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """`wait_for`, failing with every process's log as well."""
        try:
            wait_for(condition, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def counts(self, campaign_id: int) -> dict[str, int]:
        with self.db.session() as session:
            return ledger.counts_by_status(session, campaign_id)

    def status(self, campaign_id: int) -> CampaignStatus:
        with self.db.session() as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            return campaign.status

    def finished(self, campaign_id: int) -> bool:
        counts = self.counts(campaign_id)
        return (
            self.status(campaign_id) is CampaignStatus.sent
            and counts["queued"] == 0
            and counts["sending"] == 0
        )

    def wait_quiet(self, campaign_id: int, quiet: float, timeout: float) -> None:
        """Until the campaign is finished, or nothing in the ledger moved for `quiet` seconds
        (its remaining tasks died with a killed worker) and no request is at the fake."""
        deadline = time.monotonic() + timeout
        last, since = self.counts(campaign_id), time.monotonic()
        while time.monotonic() < deadline:
            if self.finished(campaign_id) and self.fake.in_flight() == 0:
                return
            time.sleep(0.2)
            now = self.counts(campaign_id)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet and self.fake.in_flight() == 0:
                return
        raise AssertionError(f"campaign {campaign_id} kept changing: {last}\n{self.logs()}")

    def progress_to(self, campaign_id: int, settled: int, timeout: float = 120) -> None:
        """Until `settled` rows have left the queue (sent, or uncertain when their worker
        died mid-call). A campaign that stalls (its fan-out died with a worker) gets what
        production gives it fifteen minutes later: the sweeper."""
        deadline = time.monotonic() + timeout
        last, since = self.counts(campaign_id), time.monotonic()
        while settled_rows(last) < settled:
            if time.monotonic() > deadline:
                raise AssertionError(f"{settled} rows not settled in {timeout}s\n{self.logs()}")
            time.sleep(0.05)
            now = self.counts(campaign_id)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= 4 and self.fake.in_flight() == 0:
                self.sweep_later()
                since = time.monotonic()

    def terminate_database_connections(self) -> int:
        """Terminate every other backend of this database, as an operator or a failover
        does: the workers' connections die mid-statement or idle in their pools.
        Returns how many backends were terminated."""
        admin = create_engine(self.database_url, poolclass=NullPool)
        try:
            with admin.connect() as conn:
                terminated = conn.scalars(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
                conn.commit()
        finally:
            admin.dispose()
        return sum(1 for ok in terminated if ok)

    def log_text(self, name: str) -> str:
        """Every log of the processes called `name`, concatenated."""
        return "".join(p.log.read_text(errors="replace") for p in self.processes if p.name == name)

    def enqueue(self, task: str, *args: object) -> None:
        self.broker.send_task(task, args=list(args))

    # -- the hour after the damage, at once ------------------------------------------

    def settle(self, campaign_id: int, timeout: float = 180) -> Settled:
        """Sweep, feed back the provider's events, reconcile, and let a worker finish."""
        self.wait_quiet(campaign_id, quiet=4, timeout=timeout)
        self.sweep_later()
        self.wait(lambda: self.finished(campaign_id), timeout, "the swept campaign to finish")
        self.wait(lambda: self.fake.in_flight() == 0, 60, "the fake to answer every request")
        self.post_events()
        with self.db.session() as session:
            result = reconcile(session, Policy(after=dt.timedelta(minutes=1)), now=_later())
        for cid, ids in result.batches():
            self.enqueue("tasks.sending.send_batch", cid, ids)
        self.wait(lambda: self.finished(campaign_id), timeout, "the re-sends to finish")
        self.wait(lambda: self.fake.in_flight() == 0, 60, "the fake to answer every request")
        self.post_events()  # the re-sent messages' events, as SendGrid would send them
        return Settled(lost=self.swept_lost, rescued=self.rescued)

    def sweep_later(self) -> campaign_send.SweepResult:
        """The sweeper, run as if an hour had passed, with the workers stopped meanwhile:
        a row claimed by a live worker must not be taken for lost. The workers come back
        and get the sweeper's work."""
        stopped = self.running("worker")
        for process in stopped:
            process.stop()
        self.wait(lambda: self.fake.in_flight() == 0, 60, "the fake to answer every request")
        swept = campaign_send.sweep(self.db, now=_later())
        self.swept_lost += swept.lost
        self.rescued += len(swept.rescue)
        for process in stopped or [None]:
            self.start_worker(process.name if process else "worker")
        for started in [*swept.start, *swept.rescue]:
            self.enqueue("tasks.sending.send_campaign", started)
        for cid, ids in swept.due:
            self.enqueue("tasks.sending.send_batch", cid, ids)
        return swept

    def post_events(self) -> None:
        """A signed "delivered" event, through the webhook, for every message accepted so far."""
        accepted = self.fake.accepted()[self._posted :]
        for start in range(0, len(accepted), EVENTS_PER_POST):
            chunk = accepted[start : start + EVENTS_PER_POST]
            body = body_of(
                [
                    event(
                        "delivered",
                        item.email,
                        delivery_id=int(item.custom_args["delivery_id"]),
                        campaign_id=int(item.custom_args["campaign_id"]),
                    )
                    for item in chunk
                ]
            )
            response = self.web.post(
                "/webhooks/sendgrid", content=body, headers=self.signer.headers(body)
            )
            assert response.status_code == 200, response.text
            assert response.json()["stored"] == len(chunk), response.json()
        self._posted += len(accepted)
        # Applied inline by the webhook; anything it deferred is applied here, as the sweep would.
        rules = Rules.from_settings(self.settings)
        while True:
            with self.db.session() as session:
                if not apply_events(session, rules).processed:
                    break

    def tally(self, campaign_id: int) -> Tally:
        with self.db.session() as session:
            rows = session.execute(
                select(Delivery.id, Delivery.email_hash, Delivery.reconciliation).where(
                    Delivery.campaign_id == campaign_id
                )
            ).all()
            recipients = len(rows)
            kinds = Counter(r.reconciliation for r in rows if r.reconciliation)
            uncertain_ids = {r.id for r in rows if r.reconciliation}
            never_sent = session.scalar(
                select(func.count()).where(
                    Delivery.campaign_id == campaign_id, Delivery.status != DeliveryStatus.sent
                )
            )
        per_delivery = Counter(
            int(a.custom_args["delivery_id"])
            for a in self.fake.accepted()
            if a.custom_args.get("campaign_id") == str(campaign_id)
        )
        ids = {r.id for r in rows}
        assert set(per_delivery) <= ids, "the fake got a delivery id this campaign does not have"
        duplicated = {d for d, n in per_delivery.items() if n > 1}
        return Tally(
            recipients=recipients,
            delivered_once=sum(1 for n in per_delivery.values() if n == 1),
            duplicates=len(duplicated),
            lost=len(ids - set(per_delivery)),
            uncertain=len(uncertain_ids),
            confirmed=kinds["confirmed"],
            resent=kinds["resent"],
            unexplained_duplicates=len(duplicated - uncertain_ids),
            statuses={**self.counts(campaign_id), "not_sent": int(never_sent or 0)},
            campaign_status=self.status(campaign_id).value,
        )


def _later() -> dt.datetime:
    return campaign_send.utcnow() + LATER
