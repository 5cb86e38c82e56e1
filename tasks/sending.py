"""Campaign sending tasks. Arguments are ids and plain data; the work is in delivery/."""

from __future__ import annotations

import random

from celery import Task

from config.runtime import get_runtime
from delivery import campaign_send
from delivery.message import TransientSendError
from tasks.app import celery_app

MAX_SEND_RETRIES = 8


@celery_app.task(name="tasks.sending.send_campaign")
def send_campaign(campaign_id: int) -> None:
    """Render once, then walk the audience and enqueue one send task per batch."""
    rt = get_runtime()
    campaign_send.start_campaign(rt.db, rt.site, campaign_id)
    while delivery_ids := campaign_send.queue_batch(rt.db, campaign_id):
        send_batch.delay(campaign_id, delivery_ids)
    campaign_send.finish_if_done(rt.db, campaign_id)


@celery_app.task(name="tasks.sending.send_batch", bind=True, max_retries=MAX_SEND_RETRIES)
def send_batch(self: Task, campaign_id: int, delivery_ids: list[int]) -> dict[str, int]:
    rt = get_runtime()
    try:
        outcome = campaign_send.send_batch(
            rt.db, rt.site, rt.sender, rt.links, campaign_id, delivery_ids
        )
    except TransientSendError as exc:
        # Exponential back-off with jitter, or the provider's own reset time.
        delay = exc.retry_after or min(300.0, 2.0**self.request.retries) * random.uniform(0.5, 1.5)
        raise self.retry(exc=exc, countdown=delay) from exc
    campaign_send.finish_if_done(rt.db, campaign_id)
    return {"sent": outcome.sent, "failed": outcome.failed, "uncertain": outcome.uncertain}
