"""The embedded beat (`broadsheet serve` without REDIS_URL) in a process of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from config.resources import SITE_EXAMPLE
from config.settings import Settings
from tests.support.paths import REPO_ROOT

# What `broadsheet serve` does, minus the web server: a fresh interpreter that
# imports only the embedded beat, runs it for a few ticks and stops it.
SCRIPT = """
import logging, threading
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
from tasks.embedded import run_embedded_beat
# Celery's own "succeeded" lines are the evidence here: keep even the quiet ticks'.
logging.getLogger("celery.app.trace").filters.clear()
stop = threading.Event()
beat = threading.Thread(target=run_embedded_beat, args=(stop,))
beat.start()
stop.wait(3)
stop.set()
beat.join(30)
"""


def test_the_embedded_beat_runs_every_beat_task_in_a_fresh_process(
    settings: Settings, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))},
        "DATABASE_URL": settings.database_url,
        "SITE_CONFIG": str(SITE_EXAMPLE),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    # The example's feeds are not reachable from a test; a site without feeds keeps
    # the poll local while every periodic task still runs.
    site = tmp_path / "site.toml"
    text = (SITE_EXAMPLE).read_text()
    site.write_text(
        text.split("[[feeds]]")[0] + "[[schedules]]" + text.split("[[schedules]]", 1)[1]
    )
    env["SITE_CONFIG"] = str(site)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "NotRegistered" not in result.stderr, result.stderr
    assert "embedded beat" not in result.stderr, result.stderr  # no "... failed" line
    ran = set(re.findall(r"Task (\S+)\[[^\]]+\] succeeded", result.stderr))
    assert {
        "tasks.schedules.run_schedules",
        "tasks.sending.sweep",
        "tasks.events.reconcile",
    } <= ran, result.stderr
