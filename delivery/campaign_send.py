"""Sending a campaign, step by step; the Celery tasks are thin calls into these functions.

Each function opens and commits its own transaction so that a task may run it
again after a crash and find the ledger exactly as the last commit left it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaigns.compose import CampaignError, build_edition, store_edition
from config.site import SiteConfig
from db.engine import Database
from db.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Edition,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
from delivery import ledger
from delivery.message import (
    Envelope,
    PermanentSendError,
    TransientSendError,
    UncertainSendError,
)
from delivery.personalize import LinkMaker, campaign_recipient
from delivery.sender import MailSender

SENDABLE = (CampaignStatus.draft, CampaignStatus.scheduled)


@dataclass(frozen=True)
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    skipped: int = 0
    error: str | None = None


def start_campaign(db: Database, site: SiteConfig, campaign_id: int) -> None:
    """Render the edition once and move the campaign to `sending`."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is CampaignStatus.sending:
            return  # a retried task: already started
        if campaign.status not in SENDABLE:
            raise CampaignError(f"campaign {campaign_id} is {campaign.status.value}; cannot send")
        store_edition(session, campaign, build_edition(session, site, campaign))
        campaign.status = CampaignStatus.sending
        campaign.started_at = utcnow()


def queue_batch(db: Database, campaign_id: int) -> list[int]:
    """Write the next ledger slice; [] means the whole audience is queued."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is not CampaignStatus.sending or campaign.fanout_done:
            return []
        return ledger.queue_next_batch(session, campaign)


def send_batch(
    db: Database,
    site: SiteConfig,
    sender: MailSender,
    links: LinkMaker,
    campaign_id: int,
    delivery_ids: Sequence[int],
) -> BatchOutcome:
    """Claim the rows, fill placeholders, call the sender once, record what happened."""
    batch_key = uuid.uuid4().hex
    with db.session() as session:
        campaign = _campaign(session, campaign_id)
        if campaign.status is not CampaignStatus.sending:
            return BatchOutcome(error=f"campaign is {campaign.status.value}")
        owned = ledger.claim(session, delivery_ids, batch_key)
        if not owned:
            return BatchOutcome()
        edition = session.scalar(select(Edition).where(Edition.campaign_id == campaign_id))
        if edition is None:
            raise CampaignError(f"campaign {campaign_id} has no edition")
        rows = session.execute(
            select(Delivery.id, Subscriber, Suppression.email_hash)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id, isouter=True)
            .join(Suppression, Suppression.email_hash == Delivery.email_hash, isouter=True)
            .where(Delivery.id.in_(owned))
        ).all()
        recipients, skipped = [], []
        active = {f"{d.name}@{d.version}": d for d in site.disclaimers}
        disclaimers = [active[label] for label in edition.disclaimers if label in active]
        for delivery_id, subscriber, suppressed in rows:
            # Suppression and consent are checked again at send time: they may have
            # changed since the row was queued.
            if (
                subscriber is None
                or suppressed
                or subscriber.status is not SubscriberStatus.confirmed
            ):
                skipped.append(delivery_id)
                continue
            recipients.append(
                (
                    delivery_id,
                    campaign_recipient(
                        links,
                        email=subscriber.email,
                        name=subscriber.name,
                        country=subscriber.country,
                        subscriber_id=subscriber.id,
                        campaign_id=campaign_id,
                        delivery_id=delivery_id,
                        sponsor_name=edition.sponsor_name,
                        disclaimers=disclaimers,
                    ),
                )
            )
        ledger.mark(session, skipped, DeliveryStatus.skipped, error="suppressed or not confirmed")
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([d for d, _ in recipients]))
            .values(
                sponsor_name=edition.sponsor_name,
                disclaimers=edition.disclaimers,
                edition_variant=edition.variant,
            )
        )
        envelope = _envelope(site, campaign, edition)
    # The provider call happens outside any transaction: the claim is committed,
    # so a crash from here on leaves rows in `sending` for reconciliation.
    sent_ids = [d for d, _ in recipients]
    if not sent_ids:
        return BatchOutcome(skipped=len(skipped))
    try:
        receipt = sender.send_batch(envelope, [r for _, r in recipients])
    except TransientSendError:
        with db.session() as session:
            ledger.release(session, sent_ids)
        raise
    except PermanentSendError as exc:
        with db.session() as session:
            ledger.mark(session, sent_ids, DeliveryStatus.failed, error=str(exc)[:2000])
        return BatchOutcome(failed=len(sent_ids), skipped=len(skipped), error=str(exc))
    except UncertainSendError as exc:
        with db.session() as session:
            ledger.mark(session, sent_ids, DeliveryStatus.uncertain, error=str(exc)[:2000])
        return BatchOutcome(uncertain=len(sent_ids), skipped=len(skipped), error=str(exc))
    with db.session() as session:
        ledger.mark(
            session, sent_ids, DeliveryStatus.sent, message_id=receipt.message_id, sent_at=utcnow()
        )
    return BatchOutcome(sent=len(sent_ids), skipped=len(skipped))


def finish_if_done(db: Database, campaign_id: int) -> bool:
    """Mark the campaign sent once every row has left `queued` and `sending`."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is not CampaignStatus.sending or not campaign.fanout_done:
            return campaign.status is CampaignStatus.sent
        counts = ledger.counts_by_status(session, campaign_id)
        if counts["queued"] or counts["sending"]:
            return False
        campaign.status = CampaignStatus.sent
        campaign.finished_at = utcnow()
        return True


def _envelope(site: SiteConfig, campaign: Campaign, edition: Edition) -> Envelope:
    n = site.newsletter
    return Envelope(
        subject=edition.subject,
        html=edition.html,
        text=edition.text,
        from_email=str(n.from_email),
        from_name=n.from_name or n.name,
        reply_to=str(n.reply_to) if n.reply_to else None,
        categories=("campaign", f"campaign-{campaign.id}"),
        custom_args={"campaign_id": str(campaign.id)},
    )


def _campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update()
    campaign = session.scalar(query)
    if campaign is None:
        raise CampaignError(f"no campaign with id {campaign_id}")
    return campaign
