"""Sponsor desk tasks: the signed hook on booking state changes, and settling bookings.

Booking state changes are noted on the session by sponsorship.inventory; the
listener below enqueues one hook per change only after that session commits
(a rolled-back change sends nothing), from any process: web, CLI or worker.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import httpx
from celery import Task
from sqlalchemy import event
from sqlalchemy.orm import Session

from config.runtime import get_runtime
from db.models import utcnow
from feedback.hooks import HookFailed
from sponsorship import inventory, notify
from tasks.app import celery_app

log = logging.getLogger(__name__)
MAX_RETRIES = 8


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changes = inventory.take_changes(session)
    if not changes:
        return
    settings = get_runtime().settings
    if not settings.sponsor_hook_url:
        return
    for change in changes:
        deliver_booking_hook.delay(notify.change_body(change))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(inventory.CHANGES, None)


@celery_app.task(name="tasks.sponsors.deliver_booking_hook", bind=True, max_retries=MAX_RETRIES)
def deliver_booking_hook(self: Task, body: str) -> int | None:
    """POST one booking change to SPONSOR_HOOK_URL, retrying with back-off while it can help."""
    rt = get_runtime()
    url, secret = rt.settings.sponsor_hook_url, rt.settings.sponsor_hook_secret
    if not url or not secret:
        return None
    try:
        with httpx.Client() as client:
            return notify.post_guarded(
                client, url, secret, body, allow_private=rt.site.newsletter.allow_private_hosts
            )
    except HookFailed as exc:
        if not exc.retry or self.request.is_eager or self.request.retries >= self.max_retries:
            log.warning("%s; giving up", exc)
            return None
        delay = min(3600.0, 2.0 ** (self.request.retries + 2)) * random.uniform(0.5, 1.5)
        raise self.retry(exc=exc, countdown=delay) from exc


@celery_app.task(name="tasks.sponsors.settle_bookings")
def settle_bookings() -> dict[str, Any]:
    """Running bookings whose last day has passed become delivered."""
    rt = get_runtime()
    today = utcnow().astimezone(rt.site.newsletter.tz).date()
    with rt.db.session() as session:
        return {"delivered": inventory.settle(session, today)}
