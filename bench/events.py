"""SendGrid events through the signed webhook: ingest and apply, events per second.

A real uvicorn server on loopback (embedded mode, so each batch is also applied
before the answer), a real ECDSA key pair, batches of 1000 as SendGrid sends
them, against SQLite and, when reachable, PostgreSQL. The clock stops when
every event is stored and applied. The server runs as in production (README,
"Production shape"): one process on SQLite (one writer), BENCH_WEB_WORKERS
(default 2) on PostgreSQL; two batches in flight per process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import REPO_ROOT, Figure
from config.resources import SITE_EXAMPLE
from db.engine import Database
from db.migrate import upgrade
from db.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Event, Subscriber
from feedback.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, public_key_text, sign_events
from subscribers.addresses import email_hash

SECTION = "events"
BATCH = 1000
# Batches in flight per server process: two keep it busy while the client encodes
# the next one; more only queue on SQLite's single writer.
IN_FLIGHT_PER_WORKER = 2
# uvicorn worker processes, as in production (README, "Production"): SQLite has one
# writer, so one process; PostgreSQL gets one per core.
WEB_WORKERS = {
    "sqlite": int(os.environ.get("BENCH_WEB_WORKERS_SQLITE", "1")),
    "postgresql": int(os.environ.get("BENCH_WEB_WORKERS", "2")),
}
TARGET = 5000.0  # events/s, stored and applied
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def run(quick: bool) -> list[Figure]:
    total = 10_000 if quick else 100_000
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        figures.append(_measure("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", total, Path(tmp)))
        with _postgres_database() as url:
            if url is not None:
                figures.append(_measure("postgresql", url, total, Path(tmp)))
    return figures


def _measure(label: str, url: str, total: int, tmp: Path) -> Figure:
    database = Database.from_url(url)
    upgrade(database.engine)
    workers = WEB_WORKERS[label]
    in_flight = IN_FLIGHT_PER_WORKER * workers
    people = total // 5  # five events per delivery on average
    campaign_id, deliveries = _seed(database, people)
    events = _events(campaign_id, deliveries, total)
    key = ec.generate_private_key(ec.SECP256R1())
    batches = [events[start : start + BATCH] for start in range(0, total, BATCH)]
    with (
        _server(url, public_key_text(key), tmp, workers) as base,
        httpx.Client(base_url=base) as client,
    ):

        def post(batch: list[dict[str, Any]]) -> None:
            body = json.dumps(batch).encode()
            stamp = str(int(time.time()))
            response = client.post(
                "/webhooks/sendgrid",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    TIMESTAMP_HEADER: stamp,
                    SIGNATURE_HEADER: sign_events(key, stamp, body),
                },
                timeout=120,
            )
            response.raise_for_status()

        started = time.perf_counter()
        # SendGrid posts batches concurrently.
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            list(pool.map(post, batches))
        elapsed = time.perf_counter() - started
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(Event))
        pending = session.scalar(select(func.count()).where(Event.processed_at.is_(None)))
    database.engine.dispose()
    if stored != total or pending:
        raise RuntimeError(f"{label}: {stored} of {total} events stored, {pending} not applied")
    return Figure(
        SECTION,
        f"webhook ingest + apply, {label}",
        total / elapsed,
        "events/s",
        target=TARGET,
        note=f"{total} events, batches of {BATCH}, {in_flight} in flight, signed, "
        f"{workers} uvicorn worker(s) on loopback, embedded mode (applied before the answer)",
    )


def _seed(database: Database, people: int) -> tuple[int, list[tuple[int, str]]]:
    """A sent campaign to `people` confirmed subscribers, written in bulk."""
    now = dt.datetime.now(dt.UTC)
    emails = [f"reader{n}@bench.example" for n in range(people)]
    with database.session() as session:
        campaign = Campaign(
            subject="Bench",
            subject_template="Bench",
            status=CampaignStatus.sent,
            list_slugs=["videos"],
            post_ids=[],
            fanout_cursor=0,
            fanout_done=True,
            consecutive_failures=0,
        )
        session.add(campaign)
        session.flush()
        session.execute(
            insert(Subscriber),
            [
                {"email": e, "email_hash": email_hash(e), "status": "confirmed", "soft_bounces": 0}
                for e in emails
            ],
        )
        ids = dict(session.execute(select(Subscriber.email, Subscriber.id)).tuples().all())
        session.execute(
            insert(Delivery),
            [
                {
                    "campaign_id": campaign.id,
                    "subscriber_id": ids[e],
                    "email_hash": email_hash(e),
                    "status": DeliveryStatus.sent,
                    "sponsor_name": "Lanternleaf",
                    "sent_at": now,
                    "queued_at": now,
                }
                for e in emails
            ],
        )
        rows = session.execute(
            select(Delivery.id, Subscriber.email).join(
                Subscriber, Subscriber.id == Delivery.subscriber_id
            )
        ).all()
        return campaign.id, [(d, e) for d, e in rows]


def _events(
    campaign_id: int, deliveries: list[tuple[int, str]], total: int
) -> list[dict[str, Any]]:
    """A realistic mix: every message processed and delivered, many opened, some clicked,
    a few deferred, bounced, reported or unsubscribed."""
    rng = random.Random(7)
    start = int(time.time()) - 3600
    events: list[dict[str, Any]] = []
    kinds = [("processed", 1.0), ("delivered", 0.97), ("open", 0.6), ("open", 0.3),
             ("click", 0.2), ("deferred", 0.02), ("bounce", 0.01), ("unsubscribe", 0.005),
             ("spamreport", 0.002)]  # fmt: skip
    while len(events) < total:
        for delivery_id, email in deliveries:
            for offset, (kind, share) in enumerate(kinds):
                if rng.random() < share:
                    item: dict[str, Any] = {
                        "email": email,
                        "event": kind,
                        "timestamp": start + offset * 30,
                        "sg_event_id": uuid.uuid4().hex,
                        "sg_message_id": f"bench.{delivery_id}",
                        "campaign_id": str(campaign_id),
                        "delivery_id": str(delivery_id),
                    }
                    if kind == "click":
                        item["url"] = f"https://steady-ground.example/post/{delivery_id % 7}"
                    if kind == "bounce":
                        item["type"] = "bounce" if rng.random() < 0.5 else "blocked"
                    events.append(item)
            if len(events) >= total:
                break
    return events[:total]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(database_url: str, public_key: str, tmp: Path, workers: int) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        DATABASE_URL=database_url,
        SENDGRID_WEBHOOK_PUBLIC_KEY=public_key,
        SITE_CONFIG=str(SITE_EXAMPLE),
        OUTBOX_DIR=str(tmp / "outbox"),
        PYTHONPATH=str(REPO_ROOT),
    )
    command = [sys.executable, "-m", "uvicorn", "web.asgi:app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log",
               "--workers", str(workers)]  # fmt: skip
    log = (tmp / f"uvicorn-{port}.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start; see {log.name}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextmanager
def _postgres_database() -> Iterator[str | None]:
    """A throw-away PostgreSQL database, or None when no server answers."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"broadsheet_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no server: the SQLite figure stands alone
        admin.dispose()
        yield None
        return
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
