"""`broadsheet worker` starts Celery with glibc's malloc arenas limited (less memory)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import BROADSHEET, cli_env
from tests.support.processes import stop


def worker_environ(env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Start `broadsheet worker`, read the environment of the Celery process it became."""
    process = subprocess.Popen(
        [str(BROADSHEET), "worker", "--concurrency", "1"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
            if b"celery" in cmdline:  # exec'd into Celery: same pid, its own environment
                raw = Path(f"/proc/{process.pid}/environ").read_bytes()
                pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
                return {k.decode(): v.decode() for k, v in pairs}
            time.sleep(0.05)
        raise AssertionError("broadsheet worker never became a Celery process")
    finally:
        stop(process)


@pytest.mark.parametrize(("given", "expected"), [(None, "2"), ("4", "4")])
def test_the_worker_limits_malloc_arenas_unless_told_otherwise(
    tmp_path: Path, redis_url: str, given: str | None, expected: str
) -> None:
    env = cli_env(tmp_path, REDIS_URL=redis_url)
    env.pop("MALLOC_ARENA_MAX", None)
    if given is not None:
        env["MALLOC_ARENA_MAX"] = given
    assert worker_environ(env, tmp_path)["MALLOC_ARENA_MAX"] == expected
