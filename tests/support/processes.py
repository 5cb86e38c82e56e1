"""Start real Celery workers for tests, with the environment a deployment would give them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from config.settings import Settings
from tests.support.paths import REPO_ROOT


def settings_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The environment variables that reproduce `settings` in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MAIL_"))}
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=redis_url,
        MAIL_BACKEND=settings.mail_backend,
        OUTBOX_DIR=str(settings.outbox_dir),
        DATA_DIR=str(settings.data_dir),
        SITE_CONFIG=str(settings.site_config),
        BASE_URL=settings.base_url or "",
        SECRET_KEY=settings.secret_key,
        ADMIN_TOKEN=settings.admin_token,
        SENDGRID_API_KEY=settings.sendgrid_api_key or "",
        SENDGRID_API_HOST=settings.sendgrid_api_host,
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def start_worker(env: dict[str, str], log: Path, concurrency: int = 2) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker",
        "--loglevel=INFO", f"--concurrency={concurrency}", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}-{time.time_ns()}@%h",
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
