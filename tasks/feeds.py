"""Feed polling tasks. Beat polls inside `tasks.schedules.run_schedules`; this
task polls alone (by hand, or from another scheduler)."""

from __future__ import annotations

from config.runtime import get_runtime
from tasks.app import celery_app
from tasks.schedules import poll_and_hand_off


@celery_app.task(name="tasks.feeds.poll_due_feeds")
def poll_due_feeds() -> dict[str, int]:
    """Poll the feeds whose interval has passed, handing held posts to the instant schedules."""
    reports = poll_and_hand_off(get_runtime())
    return {
        "polled": len(reports),
        "failed": sum(not r.ok for r in reports),
        "new_posts": sum(r.stored.new for r in reports),
    }
