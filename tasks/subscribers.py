"""Subscriber tasks: the double opt-in confirmation email, the sweep that makes it durable,
and the admin's background CSV import (`import_file`).

A sign-up's confirmation is queued from the web process after the response
(tasks/publisher.py); a process killed before publishing loses that message,
so `sweep_confirmations` (beat, every minute) queues every confirmation that
was asked for and never mailed (subscribers/invitations.py decides which).
Whoever claims a person first mails them; the others find nothing owed.
"""

from __future__ import annotations

import functools
import logging
import random

from celery import Task

from config.runtime import get_runtime
from db.models import utcnow
from delivery.message import TransientSendError
from delivery.ratelimit import RateLimiter, make_rate_limiter, throttle
from subscribers.confirmation import confirmation_envelope, confirmation_recipient
from subscribers.import_jobs import run_job
from subscribers.invitations import claim_mailing, owed_unmailed, release_mailing
from subscribers.links import confirm_token
from tasks.app import celery_app
from tasks.publisher import Publisher

log = logging.getLogger(__name__)

MAX_RETRIES = 6


@functools.cache
def _limiter(rate: float, redis_url: str | None) -> RateLimiter | None:
    # The same bucket (and Redis key) as campaign batches: SEND_RATE_PER_SECOND counts every email.
    return make_rate_limiter(rate, redis_url)


@celery_app.task(name="tasks.subscribers.send_confirmation", bind=True, max_retries=MAX_RETRIES)
def send_confirmation(self: Task, subscriber_id: int) -> bool:
    """Mail the confirmation link if one is owed (not confirmed, left or mailed meanwhile)."""
    rt = get_runtime()
    with rt.db.session() as session:
        person = claim_mailing(session, subscriber_id, utcnow())
    if person is None:
        return False
    settings = rt.settings
    throttle(_limiter(settings.send_rate_per_second, settings.redis_url), 1)
    try:
        token = confirm_token(settings.secret_key, subscriber_id, person.email_hash)
        recipient = confirmation_recipient(
            person.email, person.name, f"{rt.base_url}/confirm/{token}"
        )
        receipt = rt.sender.send_batch(confirmation_envelope(rt.site), [recipient])
    except TransientSendError as exc:
        with rt.db.session() as session:
            release_mailing(session, subscriber_id)
        delay = exc.retry_after or min(300.0, 2.0**self.request.retries) * random.uniform(0.5, 1.5)
        raise self.retry(exc=exc, countdown=delay) from exc
    except Exception as exc:
        # One address the backend cannot take (or a refused request) fails this person only:
        # logged by id, not retried, and not owed again until someone asks anew.
        log.warning("confirmation for subscriber %s not sent: %s", subscriber_id, exc)
        return False
    refused = receipt.failed or receipt.uncertain or receipt.not_sent
    if refused:
        log.warning("confirmation for subscriber %s not sent: %s", subscriber_id, refused)
        return False
    return True


@celery_app.task(name="tasks.subscribers.sweep_confirmations")
def sweep_confirmations() -> int:
    """Queue confirmations asked for at least a minute ago that never left."""
    rt = get_runtime()
    with rt.db.session() as session:
        ids = owed_unmailed(session)
    for subscriber_id in ids:
        send_confirmation.delay(subscriber_id)
    if ids:
        log.info("queued %d confirmation(s) that had not left", len(ids))
    return len(ids)


def enqueue_confirmation(subscriber_id: int | None) -> None:
    """Queue the confirmation email (call after the commit); None means none is due."""
    if subscriber_id is not None:
        send_confirmation.delay(subscriber_id)


# The sign-up form's way to queue confirmations: batched across requests (tasks/publisher.py).
confirmation_publisher = Publisher(send_confirmation)


@celery_app.task(name="tasks.subscribers.import_file")
def import_file(job_id: int) -> str:
    """Import an admin's uploaded CSV (subscribers/import_jobs.py keeps its progress)."""
    rt = get_runtime()
    return run_job(rt.db, rt.site, rt.settings.imports_dir, job_id).value


def start_import(job_id: int) -> None:
    """Queue the import (inline in embedded mode): for a background step after a response."""
    import_file.delay(job_id)
