"""Campaign sending tasks. Arguments are ids and plain data; the work is in delivery/."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from config.runtime import get_runtime
from config.site import SiteConfig
from db.engine import Database
from db.models import Campaign
from delivery import campaign_send, retention
from delivery.message import TransientSendError
from delivery.ratelimit import RateLimiter, make_rate_limiter, throttle
from feedback import hooks
from tasks.app import celery_app
from tasks.events import send_hooks

log = logging.getLogger(__name__)

MAX_SEND_RETRIES = 8
MAX_BACKOFF_SECONDS = 300.0
# A database connection lost mid-task (a restart, a failover, a terminated backend)
# raises one of these. The task runs again after a jittered, growing back-off: every
# step it repeats is idempotent (the fan-out resumes at its cursor, a claimed row is
# never claimed twice), and the engine's pre-ping replaces the dead connection.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY = {
    "autoretry_for": DATABASE_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}


@celery_app.task(name="tasks.sending.send_campaign", max_retries=12, **DATABASE_RETRY)
def send_campaign(campaign_id: int) -> None:
    """Render once, re-enqueue rows left queued (resume, lost fan-out), then walk the audience."""
    rt = get_runtime()
    if not campaign_send.start_campaign(rt.db, rt.site, campaign_id):
        return  # paused or cancelled before this task ran
    for queued in campaign_send.queued_batches(rt.db, campaign_id):
        send_batch.delay(campaign_id, queued)
    for fresh in campaign_send.fan_out(rt.db, rt.site, campaign_id):
        send_batch.delay(campaign_id, fresh)
    _finish(campaign_id)


@functools.cache
def _limiter(rate: float, redis_url: str | None) -> RateLimiter | None:
    return make_rate_limiter(rate, redis_url)


@celery_app.task(
    name="tasks.sending.send_batch", bind=True, max_retries=MAX_SEND_RETRIES, **DATABASE_RETRY
)
def send_batch(self: Task, campaign_id: int, delivery_ids: list[int]) -> dict[str, int]:
    rt = get_runtime()
    settings = rt.settings
    limiter = _limiter(settings.send_rate_per_second, settings.redis_url)
    try:
        outcome = campaign_send.send_batch(
            rt.db,
            rt.site,
            rt.sender,
            rt.links,
            campaign_id,
            delivery_ids,
            pause_after_failures=settings.pause_after_failures,
            throttle=(lambda n: throttle(limiter, n)) if limiter else None,
        )
    except TransientSendError as exc:
        if self.request.retries >= self.max_retries:
            log.warning(
                "campaign %s: batch gave up after %s retries: %s",
                campaign_id,
                self.max_retries,
                exc,
            )
            campaign_send.give_up(
                rt.db,
                campaign_id,
                delivery_ids,
                f"gave up after retries: {exc}",
                settings.pause_after_failures,
            )
            _finish(campaign_id)
            return {"sent": 0, "failed": len(delivery_ids), "uncertain": 0}
        raise self.retry(exc=exc, countdown=backoff(self.request.retries, exc.retry_after)) from exc
    _finish(campaign_id)
    return {"sent": outcome.sent, "failed": outcome.failed, "uncertain": outcome.uncertain}


def _finish(campaign_id: int) -> None:
    """Finish the campaign if every row is settled; the first time, tell the hooks."""

    def announce(campaign: Campaign, counts: dict[str, int]) -> None:
        send_hooks("campaign_sent", hooks.campaign_data(campaign, counts))

    campaign_send.finish_if_done(get_runtime().db, campaign_id, on_first_finish=announce)


def backoff(retries: int, retry_after: float | None) -> float:
    """The provider's reset time if it gave one, else exponential back-off with full jitter."""
    if retry_after is not None:
        return retry_after + random.uniform(0, 1)
    return min(MAX_BACKOFF_SECONDS, 2.0**retries) * random.uniform(0.5, 1.5)


@celery_app.task(name="tasks.sending.sweep")
def sweep() -> dict[str, int]:
    """Every minute: start due scheduled campaigns, send rows whose local time came,
    re-run stalled fan-outs, mark rows whose worker vanished as uncertain."""
    rt = get_runtime()
    result = campaign_send.sweep(rt.db)
    for campaign_id in [*result.start, *result.rescue]:
        send_campaign.delay(campaign_id)
    for campaign_id, delivery_ids in result.due:
        send_batch.delay(campaign_id, delivery_ids)
    return {
        "started": len(result.start),
        "rescued": len(result.rescue),
        "due_batches": len(result.due),
        "lost": result.lost,
    }


@celery_app.task(name="tasks.sending.retain_ledger")
def retain_ledger() -> list[int]:
    """Hourly: finished campaigns past DELIVERY_RETENTION_DAYS trade their rows for counts."""
    rt = get_runtime()
    keep = dt.timedelta(days=rt.settings.delivery_retention_days)
    return retention.roll_up_expired(rt.db, keep)


def send_or_schedule(
    db: Database,
    site: SiteConfig,
    campaign_id: int,
    *,
    at: dt.datetime | None = None,
    local_time: str | None = None,
    start: bool = True,
) -> bool:
    """Send now (a task), or at `at` (naive = the site's zone), optionally at a local time
    per subscriber: the one path of the admin API and the web admin. A campaign in a
    state that cannot send raises CampaignError; a bad local time ValueError.

    Returns whether the send starts now. With `start=False` the caller queues
    `send_campaign` itself (the web admin does it after its response, so that in
    embedded mode, where tasks run inline, the page does not wait for the send)."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=site.newsletter.tz)
    campaign_send.schedule(db, campaign_id, send_at=at, local_time=local_time)
    if at is None and start:
        send_campaign.delay(campaign_id)
    return at is None


def resume_sending(db: Database, campaign_id: int, *, start: bool = True) -> None:
    """Resume a paused campaign and queue what is left (admin API and web admin);
    `start=False` leaves queueing `send_campaign` to the caller."""
    campaign_send.resume(db, campaign_id)
    if start:
        send_campaign.delay(campaign_id)


def start_sending(campaign_id: int) -> None:
    """Queue the send task (inline in embedded mode): for a background step after a response."""
    send_campaign.delay(campaign_id)
