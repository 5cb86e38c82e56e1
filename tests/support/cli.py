"""Run the installed `broadsheet` command as a person would: a child process, its own
environment, in a directory of its own (so no `.env` from the checkout leaks in).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from config.resources import SITE_EXAMPLE

BROADSHEET = Path(sys.executable).parent / "broadsheet"

# Settings a test sets itself; any value from the outer environment is dropped.
_OURS = (
    "ENVIRONMENT", "DATABASE_URL", "REDIS_URL", "MAIL_BACKEND", "OUTBOX_DIR", "SECRET_KEY",
    "ADMIN_TOKEN", "BASE_URL", "SITE_CONFIG", "SMTP_URL", "SENDGRID_",
    "SEND_RATE_PER_SECOND", "SUBSCRIBE_RATE_LIMIT", "PAUSE_AFTER_FAILURES",
    "DELIVERY_RETENTION_DAYS",
)  # fmt: skip


def cli_env(directory: Path, **settings: str) -> dict[str, str]:
    """An embedded-mode environment on a SQLite file and an outbox under `directory`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(
        DATABASE_URL=f"sqlite:///{directory / 'broadsheet.db'}",
        OUTBOX_DIR=str(directory / "outbox"),
        SITE_CONFIG=str(SITE_EXAMPLE),
        BASE_URL="http://127.0.0.1:8000",
    )
    env.update(settings)
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BROADSHEET), *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the person sees on stderr, as non-blank lines."""
    return [line for line in result.stderr.splitlines() if line.strip()]
