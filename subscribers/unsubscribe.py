"""Leaving: one POST unsubscribes and suppresses the address for good."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import Subscriber
from subscribers.service import suppress


def unsubscribe(session: Session, subscriber_id: int) -> bool:
    """Suppress the subscriber's address; False when there is no such subscriber (erased).

    Idempotent: a second click (or a mail client's one-click POST after the
    button) changes nothing and still succeeds.
    """
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return False
    suppress(session, subscriber.email_hash, "unsubscribed")
    return True
