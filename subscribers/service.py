"""Adding subscribers and keeping their consent and suppression straight."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Consent, Subscriber, SubscriberStatus, Subscription, Suppression, utcnow
from subscribers.addresses import email_hash, normalize_email


class Suppressed(ValueError):
    """The address is on the suppression list and must not be added back."""


@dataclass(frozen=True)
class ConsentInfo:
    source: str  # form, import, api, demo, cli
    text_version: str
    ip: str | None = None
    user_agent: str | None = None


def is_suppressed(session: Session, normalized_email: str) -> bool:
    return session.get(Suppression, email_hash(normalized_email)) is not None


def add_subscriber(
    session: Session,
    raw_email: str,
    lists: Iterable[str],
    consent: ConsentInfo,
    *,
    confirmed: bool = False,
    name: str | None = None,
) -> Subscriber:
    """Create or extend a subscriber; never resurrects a suppressed address."""
    email = normalize_email(raw_email)
    if is_suppressed(session, email):
        raise Suppressed(f"{email} is suppressed and will not be mailed")
    now = utcnow()
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == email))
    if subscriber is None:
        subscriber = Subscriber(
            email=email,
            email_hash=email_hash(email),
            name=name,
            status=SubscriberStatus.pending,
            created_at=now,
        )
        session.add(subscriber)
        session.flush()
    if confirmed and subscriber.status is SubscriberStatus.pending:
        subscriber.status = SubscriberStatus.confirmed
        subscriber.confirmed_at = now
    wanted = list(dict.fromkeys(lists))
    have = set(
        session.scalars(
            select(Subscription.list_slug).where(Subscription.subscriber_id == subscriber.id)
        )
    )
    for slug in wanted:
        if slug not in have:
            session.add(Subscription(subscriber_id=subscriber.id, list_slug=slug))
    session.add(
        Consent(
            subscriber_id=subscriber.id,
            source=consent.source,
            ip=consent.ip,
            user_agent=consent.user_agent,
            consent_text_version=consent.text_version,
            lists=wanted,
            confirmed_at=now if confirmed else None,
        )
    )
    session.flush()
    return subscriber


STATUS_FOR_REASON = {
    "unsubscribed": SubscriberStatus.unsubscribed,
    "bounced": SubscriberStatus.bounced,
    "complained": SubscriberStatus.complained,
}


def suppress(session: Session, ehash: str, reason: str) -> None:
    """Never mail this address again; the subscriber row (if any) takes the matching status.

    The first reason recorded wins, so a later unsubscribe does not hide an earlier complaint.
    """
    if session.get(Suppression, ehash) is None:
        session.add(Suppression(email_hash=ehash, reason=reason))
    status = STATUS_FOR_REASON.get(reason)
    if status is None:
        return
    for subscriber in session.scalars(select(Subscriber).where(Subscriber.email_hash == ehash)):
        if subscriber.status in (SubscriberStatus.pending, SubscriberStatus.confirmed):
            subscriber.status = status
            if status is SubscriberStatus.unsubscribed:
                subscriber.unsubscribed_at = utcnow()
    session.flush()
