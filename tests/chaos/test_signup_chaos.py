"""Chaos: a web process SIGKILLed during concurrent sign-ups loses no confirmation.

The sign-up answers, then queues its confirmation through the process's
in-memory publisher (tasks/publisher.py). Here Redis is frozen (SIGSTOP) while
50 sign-ups run, so every confirmation is still in the web process's memory,
and the process is SIGKILLed while the last requests are in flight: the
deterministic form of "a process killed between response and publish". The
confirmation sweep (beat, every minute; run here as if two minutes had passed)
finds the people asked for and never mailed; the worker mails each once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from db.models import utcnow
from subscribers.invitations import SWEEP_AFTER, owed_unmailed
from tests.chaos.harness import Deployment
from tests.support.mail import messages
from tests.support.paths import REPO_ROOT
from tests.support.servers import free_port
from tests.support.web_process import BROADSHEET

pytestmark = pytest.mark.chaos

SIGNUPS = 50
KILL_AFTER_ANSWERS = 35


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env=env,
        cwd=REPO_ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # killpg reaches everything it started
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


def test_a_web_process_killed_during_sign_ups_loses_no_confirmation(
    deployment: Deployment, tmp_path: Path, report: list[str]
) -> None:
    outbox = tmp_path / "outbox"
    env = {
        **deployment.env(),
        "MAIL_BACKEND": "outbox",
        "OUTBOX_DIR": str(outbox),
        "SUBSCRIBE_RATE_LIMIT": "0",
    }
    port = free_port()
    web = _start([BROADSHEET, "web", "--port", str(port)], env, tmp_path / "web.log")
    url = f"http://127.0.0.1:{port}"
    deployment.wait(lambda: _healthy(url), 30, "the web process")
    redis = deployment.redis.process
    assert redis is not None
    answered: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(SIGNUPS)

    def sign_up(n: int) -> None:
        address = f"reader{n}@example.org"
        start.wait()
        try:
            answer = httpx.post(f"{url}/subscribe", json={"email": address}, timeout=30)
        except httpx.HTTPError:
            return  # in flight when the process died: no promise was made
        if answer.status_code == 200:
            with lock:
                answered.append(address)

    os.kill(redis.pid, signal.SIGSTOP)  # the publisher cannot hand anything to the broker
    try:
        threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(SIGNUPS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(answered) < KILL_AFTER_ANSWERS and time.monotonic() < deadline:
            time.sleep(0.001)
        _kill(web)
        for thread in threads:
            thread.join(60)
    finally:
        os.kill(redis.pid, signal.SIGCONT)
    assert len(answered) >= KILL_AFTER_ANSWERS, (tmp_path / "web.log").read_text()

    worker = _start(
        [sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker",
         "--pool=threads", "--concurrency=4", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"signup-chaos-{time.time_ns()}@%h"],
        env,
        tmp_path / "worker.log",
    )  # fmt: skip
    try:
        # The beat's sweep, as if it ran two minutes later; twice, as beat would.
        swept = []
        for _ in range(2):
            with deployment.db.session() as session:
                ids = owed_unmailed(session, now=utcnow() + SWEEP_AFTER + dt.timedelta(minutes=1))
            swept.append(len(ids))
            for subscriber_id in ids:
                deployment.enqueue("tasks.subscribers.send_confirmation", subscriber_id)

        def mailed() -> Counter[str]:
            return Counter(m["To"].addresses[0].addr_spec for m in messages(outbox))

        deployment.wait(
            lambda: set(answered) <= set(mailed()), 120, "a confirmation for every answered sign-up"
        )
        time.sleep(3)  # any duplicate would arrive now
        with deployment.db.session() as session:
            owed = owed_unmailed(session, now=utcnow() + dt.timedelta(minutes=5))
    finally:
        _kill(worker)
    counts = mailed()
    duplicates = sorted(a for a, n in counts.items() if n > 1)
    lost = sorted(set(answered) - set(counts))
    report.append(
        f"chaos 5 web SIGKILLed during {SIGNUPS} sign-ups: answered={len(answered)} "
        f"confirmed_once={sum(1 for a in answered if counts[a] == 1)} duplicates={len(duplicates)} "
        f"lost={len(lost)} swept={swept[0]}"
    )
    assert lost == [] and duplicates == []
    assert owed == []
    # The kill did strand confirmations in the dead process: the sweep is what mailed them.
    assert swept[0] > 0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
