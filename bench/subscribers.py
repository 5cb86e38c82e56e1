"""Subscribers: POST /subscribe under loopback load, and CSV import speed.

The web server is started the way the README says to run it in production:
`broadsheet web --workers N`, one worker on SQLite and BENCH_WEB_WORKERS
(default 2) on PostgreSQL. The per-IP rate limit stays on (its Redis round trip
is part of every sign-up) with a limit the single load-generating address
cannot reach. The load comes from a separate process: lean keep-alive HTTP/1.1
connections (`_Connection`), a fixed number in flight. With Redis reachable
(BENCH_REDIS_URL, default database 14, not the tests' 15) the server runs in production
shape and confirmation emails are queued as tasks; the queue and the limiter's
counters are emptied afterwards. Without Redis it runs embedded and the tasks
run in the server.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

import httpx
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import REDIS_URL, REPO_ROOT, Figure, tree_cpu_seconds
from config.resources import SITE_EXAMPLE
from config.settings import load_settings
from config.site import load_site
from db.engine import Database
from db.migrate import upgrade
from subscribers.importing import import_csv

SECTION = "subscribers"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SITE = SITE_EXAMPLE
CONCURRENCY = 16
RATE_LIMIT = 1_000_000  # sign-ups per IP per minute
WARM_UP_ROUNDS = 3  # sign-ups per connection before the clock starts
# uvicorn worker processes. SQLite has one writer, so one process (which queues
# its writes on a lock) serves it best; PostgreSQL gets one per core.
WEB_WORKERS = {
    "sqlite": int(os.environ.get("BENCH_WEB_WORKERS_SQLITE", "1")),
    "postgresql": int(os.environ.get("BENCH_WEB_WORKERS", "2")),
}


def run(quick: bool) -> list[Figure]:
    figures: list[Figure] = []
    requests = 400 if quick else 4000
    rows = 20_000 if quick else 100_000
    for kind in ("sqlite", "postgresql"):
        with _fresh(kind) as url:
            figures.extend(_subscribe_load(kind, url, requests))
        with _fresh(kind) as url:
            figures.append(_import_speed(kind, url, rows))
    return figures


@contextmanager
def _fresh(kind: str) -> Iterator[str]:
    """An empty, migrated database of the given kind, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            _migrate(url)
            yield url
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"broadsheet_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    database = Database.from_url(url)
    upgrade(database.engine)
    database.engine.dispose()


def _redis_available() -> bool:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


def _subscribe_load(kind: str, url: str, requests: int) -> list[Figure]:
    with_redis = _redis_available()
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL if with_redis else "",
            "MAIL_BACKEND": "outbox",
            "OUTBOX_DIR": str(Path(tmp) / "outbox"),
            "SITE_CONFIG": str(SITE),
            "BASE_URL": f"http://127.0.0.1:{port}",
            # Counted like any visitor's, but all load comes from 127.0.0.1.
            "SUBSCRIBE_RATE_LIMIT": str(RATE_LIMIT),
            "PYTHONPATH": str(REPO_ROOT),
        }
        command = [
            sys.executable, "-m", "cli.main", "web", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(WEB_WORKERS[kind]),
        ]  # fmt: skip
        # The server logs as in production (an access line per request), to a file.
        log = (Path(tmp) / "web.log").open("w")
        server = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base)
            cpu_before = tree_cpu_seconds(server.pid)
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                latencies, elapsed, failures = pool.submit(
                    _load, base, requests, CONCURRENCY
                ).result()
            server_cpu = tree_cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
            queued = _empty_queue() if with_redis else None
    # Every sign-up is a new address, so each queues one confirmation. Shown, not
    # enforced: another process using the same Redis database changes the count.
    signups = requests + WARM_UP_ROUNDS * CONCURRENCY
    mode = (
        f"{queued} tasks queued to Redis for {signups} sign-ups"
        if queued is not None
        else "embedded, tasks in-process"
    )
    note = (
        f"{requests} requests, {CONCURRENCY} in flight, {WEB_WORKERS[kind]} uvicorn workers, "
        f"rate limit on, {failures} failed, {mode}"
    )
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 1 else 0.0
    return [
        Figure(SECTION, f"subscribe ({kind})", requests / elapsed, "req/s", 500, "min", note),
        Figure(SECTION, f"subscribe p99 ({kind})", p99, "ms", 100, "max", note),
        Figure(
            SECTION,
            f"web CPU per sign-up ({kind})",
            1000 * server_cpu / signups,
            "ms",
            note="user+sys of the web processes during the load; moves less than the "
            "rate when the shared machine is slow",
        ),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the benchmark web server did not start")


def _empty_queue() -> int:
    """Drop the confirmation tasks and rate-limit counters the benchmark left; nothing else.

    Returns how many tasks were queued.
    """
    client = redis.Redis.from_url(REDIS_URL)
    queued = int(client.llen("celery"))
    client.delete("celery", *client.scan_iter("broadsheet:rl:*"))
    client.close()
    return queued


def _load(base: str, requests: int, concurrency: int) -> tuple[list[float], float, int]:
    """Runs in its own process: `requests` sign-ups with `concurrency` in flight."""
    return asyncio.run(_load_async(base, requests, concurrency))


async def _load_async(base: str, requests: int, concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)
    run_id = uuid.uuid4().hex[:6]
    host, port = httpx.URL(base).host, httpx.URL(base).port or 80
    connections = [await _Connection.open(host, port) for _ in range(concurrency)]
    # Warm-up: first requests pay for imports and connection set-up. Every
    # connection takes part, so every server process is warm (the kernel hands
    # connections to processes, and one connection reaches only one of them).
    for n in range(WARM_UP_ROUNDS):
        await asyncio.gather(
            *(c.subscribe(f"warm{n}-{k}-{run_id}@example.org") for k, c in enumerate(connections))
        )

    async def worker(connection: _Connection) -> None:
        nonlocal failures
        while not queue.empty():
            n = queue.get_nowait()
            started = time.perf_counter()
            status = await connection.subscribe(f"bench{n}-{run_id}@example.org", ["videos"])
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.writer.close()
    return latencies, elapsed, failures


class _Connection:
    """A keep-alive HTTP/1.1 connection that only posts sign-ups.

    The load generator must cost less than the server it measures: httpx spent
    more CPU per request than the server did, on the same two cores. This
    writes the JSON request and reads the status line, the headers and the
    Content-Length body (uvicorn answers with Content-Length, never chunked).
    """

    def __init__(self, host: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.host, self.reader, self.writer = host, reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(host, reader, writer)

    async def subscribe(self, email: str, lists: list[str] | None = None) -> int:
        body = json.dumps({"email": email, **({"lists": lists} if lists else {})}).encode()
        head = (
            f"POST /subscribe HTTP/1.1\r\nHost: {self.host}\r\n"
            "Content-Type: application/json\r\nUser-Agent: broadsheet-bench\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


def _import_speed(kind: str, url: str, rows: int) -> Figure:
    site = load_site(SITE)
    settings = load_settings(database_url=url, site_config=SITE)
    database = Database.from_url(settings.database_url)
    source = io.StringIO(
        "email,name,lists,country\n"
        + "".join(f"reader{n}@example.org,Reader {n},videos;weekly,GB\n" for n in range(rows))
    )
    started = time.perf_counter()
    report = import_csv(database, site, source)
    elapsed = time.perf_counter() - started
    database.engine.dispose()
    if report.added != rows:
        raise RuntimeError(f"import added {report.added} of {rows} rows")
    return Figure(
        SECTION,
        f"CSV import ({kind})",
        rows / elapsed,
        "rows/s",
        20_000,
        "min",
        f"{rows:,} rows, chunks of 2,000",
    )
