"""Beat without Redis: a daemon thread runs the beat schedule in-process."""

from __future__ import annotations

import logging
import threading
import time

from celery.schedules import schedule as celery_schedule

from tasks.app import beat_schedule, celery_app

log = logging.getLogger(__name__)


def run_embedded_beat(stop: threading.Event, tick_seconds: float = 5.0) -> None:
    """Call each periodic task when it is due, until `stop` is set."""
    entries = {name: (entry["task"], entry["schedule"]) for name, entry in beat_schedule().items()}
    last_run: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for name, (task_name, every) in entries.items():
            seconds = (
                every.total_seconds()
                if hasattr(every, "total_seconds")
                else float(celery_schedule(every).seconds)
            )
            if now - last_run.get(name, -seconds) >= seconds:
                last_run[name] = now
                try:
                    celery_app.tasks[str(task_name)].apply()
                except Exception:  # one failing job must not stop the others
                    log.exception("embedded beat: %s failed", name)
        stop.wait(tick_seconds)


def start_embedded_beat() -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run_embedded_beat, args=(stop,), daemon=True, name="beat").start()
    return stop
