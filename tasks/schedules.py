"""Schedule tasks: beat runs `run_schedules` every minute."""

from __future__ import annotations

from campaigns.schedules import run_due
from config.runtime import get_runtime
from tasks.app import celery_app
from tasks.sending import send_campaign


@celery_app.task(name="tasks.schedules.run_schedules")
def run_schedules() -> list[dict[str, object]]:
    """Fire due schedules; each campaign made is sent (enqueued after its commit)."""
    rt = get_runtime()
    firings = run_due(rt.db, rt.site)
    for firing in firings:
        if firing.campaign_id is not None:
            send_campaign.delay(firing.campaign_id)
    return [
        {
            "schedule": f.schedule,
            "outcome": f.outcome,
            "reason": f.reason,
            "campaign_id": f.campaign_id,
        }
        for f in firings
    ]
