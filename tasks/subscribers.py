"""Subscriber tasks: the double opt-in confirmation email."""

from __future__ import annotations

import random

from celery import Task

from config.runtime import get_runtime
from db.models import Subscriber, SubscriberStatus
from delivery.message import TransientSendError
from subscribers.confirmation import confirmation_envelope, confirmation_recipient
from subscribers.links import confirm_token
from subscribers.service import is_suppressed
from tasks.app import celery_app
from tasks.publisher import Publisher

MAX_RETRIES = 6


@celery_app.task(name="tasks.subscribers.send_confirmation", bind=True, max_retries=MAX_RETRIES)
def send_confirmation(self: Task, subscriber_id: int) -> bool:
    """Mail the confirmation link, unless the person confirmed or left meanwhile."""
    rt = get_runtime()
    with rt.db.session() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if (
            subscriber is None
            or subscriber.status is not SubscriberStatus.pending
            or is_suppressed(session, subscriber.email)
        ):
            return False
        email, name, ehash = subscriber.email, subscriber.name, subscriber.email_hash
    token = confirm_token(rt.settings.secret_key, subscriber_id, ehash)
    recipient = confirmation_recipient(email, name, f"{rt.base_url}/confirm/{token}")
    try:
        rt.sender.send_batch(confirmation_envelope(rt.site), [recipient])
    except TransientSendError as exc:
        delay = exc.retry_after or min(300.0, 2.0**self.request.retries) * random.uniform(0.5, 1.5)
        raise self.retry(exc=exc, countdown=delay) from exc
    return True


def enqueue_confirmation(subscriber_id: int | None) -> None:
    """Queue the confirmation email (call after the commit); None means none is due."""
    if subscriber_id is not None:
        send_confirmation.delay(subscriber_id)


# The sign-up form's way to queue confirmations: batched across requests (tasks/publisher.py).
confirmation_publisher = Publisher(send_confirmation)
