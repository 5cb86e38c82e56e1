"""Feed polling tasks."""

from __future__ import annotations

from config.runtime import get_runtime
from content.polling import poll_due
from tasks.app import celery_app


@celery_app.task(name="tasks.feeds.poll_due_feeds")
def poll_due_feeds() -> int:
    """Poll the feeds whose interval has passed; beat calls this every minute."""
    rt = get_runtime()
    return poll_due(rt.db, rt.site)
