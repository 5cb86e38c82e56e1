"""Feed polling tasks."""

from __future__ import annotations

from config.runtime import get_runtime
from content.polling import poll_due
from tasks.app import celery_app


@celery_app.task(name="tasks.feeds.poll_due_feeds")
def poll_due_feeds() -> dict[str, int]:
    """Poll the feeds whose interval has passed; beat calls this every minute."""
    rt = get_runtime()
    reports = poll_due(rt.db, rt.site)
    return {
        "polled": len(reports),
        "failed": sum(not r.ok for r in reports),
        "new_posts": sum(r.stored.new for r in reports),
    }
