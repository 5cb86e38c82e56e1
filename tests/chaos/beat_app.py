"""The project's Celery app with beat ticking every two seconds instead of every minute.

Only the intervals differ: the same tasks (schedules and the sending sweeper) run
through the same beat, so a chaos scenario sees many ticks in seconds. Feed
polling and reconciliation are left out: the scenario feeds events and
reconciles itself, and feeds would need the internet.
"""

from __future__ import annotations

from datetime import timedelta

from tasks.app import beat_schedule, celery_app

TICK = timedelta(seconds=2)

celery_app.conf.beat_schedule = {
    name: {**entry, "schedule": TICK}
    for name, entry in beat_schedule().items()
    if name in ("run-schedules", "sweep-sending")
}
# run_schedules polls due feeds first; the chaos site's feeds are not served.
celery_app.conf.beat_schedule["run-schedules"]["kwargs"] = {"poll": False}

__all__ = ["celery_app"]
