"""Beat without Redis: a daemon thread runs the beat schedule in-process.

Invariants: it runs the same registered tasks a worker runs (the task modules
are imported first, as a worker's start-up does), one at a time on this
thread, each due by the beat schedule's own intervals. Eager Celery has no
queue and so no ETA: work that must run at a given moment (a post's hold
window ending) is put on this module's wake-up list, which the thread checks
on every short tick.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import threading
import time

from celery.schedules import schedule as celery_schedule

from tasks.app import beat_schedule, celery_app

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # how late a wake-up may run; each beat entry keeps its own interval

_wakeups: list[tuple[dt.datetime, str]] = []
_wakeups_lock = threading.Lock()


def wake_at(when: dt.datetime, task_name: str) -> None:
    """Run the registered task `task_name` on the beat thread once `when` (UTC) has passed."""
    with _wakeups_lock:
        if (when, task_name) not in _wakeups:
            heapq.heappush(_wakeups, (when, task_name))


def pending_wakeups() -> list[tuple[dt.datetime, str]]:
    """The wake-ups not yet run, soonest first (for `serve`'s log and for tests)."""
    with _wakeups_lock:
        return sorted(_wakeups)


def _due_wakeups(now: dt.datetime) -> list[str]:
    due: list[str] = []
    with _wakeups_lock:
        while _wakeups and _wakeups[0][0] <= now:
            _, name = heapq.heappop(_wakeups)
            if name not in due:  # several holds ending together need one run
                due.append(name)
    return due


def _seconds(every: object) -> float:
    if isinstance(every, dt.timedelta):
        return every.total_seconds()
    return float(celery_schedule(every).seconds)


def _run(label: str, task_name: str) -> None:
    try:
        celery_app.tasks[task_name].apply()
    except Exception:  # one failing job must not stop the others
        log.exception("embedded beat: %s failed", label)


def run_embedded_beat(stop: threading.Event, tick_seconds: float = TICK_SECONDS) -> None:
    """Call each periodic task when it is due, and each wake-up when its time comes,
    until `stop` is set."""
    # The tasks live in the modules the app `include`s; a worker imports them at
    # start-up, and so must we, or every lookup below is NotRegistered.
    celery_app.loader.import_default_modules()
    entries = {
        name: (str(entry["task"]), _seconds(entry["schedule"]))
        for name, entry in beat_schedule().items()
    }
    last_run: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for name, (task_name, seconds) in entries.items():
            if now - last_run.get(name, -seconds) >= seconds:
                last_run[name] = now
                _run(name, task_name)
        for task_name in _due_wakeups(dt.datetime.now(dt.UTC)):
            _run(f"wake-up {task_name}", task_name)
        stop.wait(tick_seconds)


def start_embedded_beat() -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run_embedded_beat, args=(stop,), daemon=True, name="beat").start()
    return stop
