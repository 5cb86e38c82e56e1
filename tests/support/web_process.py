"""`broadsheet web` as a real server process on a free loopback port, as a creator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from config.resources import SITE_EXAMPLE
from db.engine import Database
from db.migrate import upgrade
from tests.support.paths import REPO_ROOT
from tests.support.processes import wait_for
from tests.support.servers import free_port

BROADSHEET = str(Path(sys.executable).with_name("broadsheet"))


@dataclass
class WebProcess:
    popen: subprocess.Popen[bytes]
    port: int
    log: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """Resident memory of the server process, from /proc (kB)."""
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")


def web_env(directory: Path, **extra: str) -> dict[str, str]:
    """An embedded-mode environment on a migrated SQLite database of its own."""
    url = f"sqlite:///{directory / 'broadsheet.db'}"
    database = Database.from_url(url)
    upgrade(database.engine)
    database.engine.dispose()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "MAIL_", "REDIS_", "SENDGRID_", "SUBSCRIBE_"))
    }
    env.update(
        DATABASE_URL=url,
        MAIL_BACKEND="outbox",
        OUTBOX_DIR=str(directory / "outbox"),
        SITE_CONFIG=str(SITE_EXAMPLE),
        BASE_URL="http://letters.test",
        SECRET_KEY="web-process-secret-key-0123456789abcdef",
        ADMIN_TOKEN="web-process-admin-token-0123456789",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


@contextmanager
def running_web(directory: Path, env: dict[str, str]) -> Iterator[WebProcess]:
    port = free_port()
    log = directory / f"web-{port}.log"
    popen = subprocess.Popen(
        [BROADSHEET, "web", "--port", str(port)],
        env=env,
        cwd=directory,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    process = WebProcess(popen, port, log, env)

    def healthy() -> bool:
        if popen.poll() is not None:
            raise AssertionError(f"web exited early:\n{log.read_text()}")
        try:
            return httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 30, "broadsheet web to answer /healthz")
        yield process
    finally:
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
