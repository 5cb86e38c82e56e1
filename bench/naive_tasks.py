"""The naive design the campaign benchmark compares against: one task and one API call per email.

Loaded only by the benchmark's worker (`--include bench.naive_tasks`). It
reuses the real send step with a one-row batch, so the difference measured is
the design (task and request per email), not the code.
"""

from __future__ import annotations

from config.runtime import get_runtime
from delivery import campaign_send
from tasks.app import celery_app


@celery_app.task(name="bench.naive_tasks.send_campaign_naively")
def send_campaign_naively(campaign_id: int) -> None:
    rt = get_runtime()
    campaign_send.start_campaign(rt.db, rt.site, campaign_id)
    for ids in campaign_send.fan_out(rt.db, rt.site, campaign_id):
        for delivery_id in ids:
            send_one.delay(campaign_id, delivery_id)


@celery_app.task(name="bench.naive_tasks.send_one")
def send_one(campaign_id: int, delivery_id: int) -> None:
    rt = get_runtime()
    campaign_send.send_batch(rt.db, rt.site, rt.sender, rt.links, campaign_id, [delivery_id])
    campaign_send.finish_if_done(rt.db, campaign_id)
