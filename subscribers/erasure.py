"""Erasure (GDPR art. 17): the person's data goes, a hashed suppression entry stays.

Personal data lives in `subscribers` and `consents` only (see db/models.py);
deliveries keep the email hash with subscriber_id set to NULL. Provider event
payloads can carry the address, IP and user agent, so those keys are scrubbed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from db.models import (
    Campaign,
    Consent,
    Delivery,
    Event,
    Subscriber,
    Subscription,
    Suppression,
)
from subscribers.addresses import email_hash, normalize_email

# Keys of provider event payloads that identify a person.
PERSONAL_EVENT_KEYS = ("email", "ip", "useragent", "user_agent", "name")


@dataclass(frozen=True)
class ErasureResult:
    email_hash: str
    found: bool
    suppression_reason: str


def erase(session: Session, raw_email: str) -> ErasureResult:
    """Delete everything that names the person; keep (or add) the hashed suppression."""
    ehash = email_hash(normalize_email(raw_email))
    suppression = session.get(Suppression, ehash)
    if suppression is None:
        # An erased person asked us to forget them: they must not be mailed again either.
        suppression = Suppression(email_hash=ehash, reason="erased")
        session.add(suppression)
    ids = list(session.scalars(select(Subscriber.id).where(Subscriber.email_hash == ehash)))
    if ids:
        # The ledger has no foreign key to subscribers (migration 0009_ledger_write_path):
        # this UPDATE is what unlinks the person's deliveries. Nor an index of
        # subscriber_id alone: naming every campaign lets the (campaign, subscriber)
        # unique index find the rows, one probe per campaign, not a scan of the ledger.
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id.in_(select(Campaign.id)), Delivery.subscriber_id.in_(ids))
            .values(subscriber_id=None)
        )
        session.execute(delete(Consent).where(Consent.subscriber_id.in_(ids)))
        session.execute(delete(Subscription).where(Subscription.subscriber_id.in_(ids)))
        session.execute(delete(Subscriber).where(Subscriber.id.in_(ids)))
    for event in session.scalars(select(Event).where(Event.email_hash == ehash)):
        if any(key in event.payload for key in PERSONAL_EVENT_KEYS):
            event.payload = {k: v for k, v in event.payload.items() if k not in PERSONAL_EVENT_KEYS}
    session.flush()
    return ErasureResult(email_hash=ehash, found=bool(ids), suppression_reason=suppression.reason)
