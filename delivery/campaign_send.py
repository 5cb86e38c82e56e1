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

from campaigns.compose import CampaignError, store_edition
from campaigns.variants import assign_variants, render_variants
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
    Recipient,
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

    def plus(self, other: BatchOutcome) -> BatchOutcome:
        return BatchOutcome(
            sent=self.sent + other.sent,
            failed=self.failed + other.failed,
            uncertain=self.uncertain + other.uncertain,
            skipped=self.skipped + other.skipped,
            error=other.error or self.error,
        )


def start_campaign(db: Database, site: SiteConfig, campaign_id: int) -> None:
    """Render every edition variant once and move the campaign to `sending`."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is CampaignStatus.sending:
            return  # a retried task: already started
        if campaign.status not in SENDABLE:
            raise CampaignError(f"campaign {campaign_id} is {campaign.status.value}; cannot send")
        for variant, edition in render_variants(session, site, campaign).items():
            store_edition(session, campaign, variant, edition)
        campaign.status = CampaignStatus.sending
        campaign.started_at = utcnow()


def queue_batch(db: Database, campaign_id: int) -> list[int]:
    """Write the next ledger slice; [] means the whole audience is queued."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is not CampaignStatus.sending or campaign.fanout_done:
            return []
        return ledger.queue_next_batch(session, campaign)


@dataclass
class _Group:
    """The recipients of one batch who get the same edition variant."""

    edition: Edition
    delivery_ids: list[int]
    recipients: list[Recipient]


def send_batch(
    db: Database,
    site: SiteConfig,
    sender: MailSender,
    links: LinkMaker,
    campaign_id: int,
    delivery_ids: Sequence[int],
) -> BatchOutcome:
    """Claim the rows, fill placeholders, call the sender once per variant, record results."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id)
        if campaign.status is not CampaignStatus.sending:
            return BatchOutcome(error=f"campaign is {campaign.status.value}")
        owned = ledger.claim(session, delivery_ids, uuid.uuid4().hex)
        if not owned:
            return BatchOutcome()
        groups, skipped = _prepare(session, site, links, campaign, owned)
        envelopes = {key: _envelope(site, campaign, g.edition) for key, g in groups.items()}
    # The provider call happens outside any transaction: the claim is committed,
    # so a crash from here on leaves rows in `sending` for reconciliation.
    outcome = BatchOutcome(skipped=len(skipped))
    for key, group in groups.items():
        outcome = outcome.plus(_deliver(db, sender, envelopes[key], group))
    return outcome


def _prepare(
    session: Session, site: SiteConfig, links: LinkMaker, campaign: Campaign, owned: list[int]
) -> tuple[dict[str, _Group], list[int]]:
    editions = {
        e.variant: e
        for e in session.scalars(select(Edition).where(Edition.campaign_id == campaign.id))
    }
    if not editions:
        raise CampaignError(f"campaign {campaign.id} has no edition")
    rows = session.execute(
        select(Delivery.id, Subscriber, Suppression.email_hash)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id, isouter=True)
        .join(Suppression, Suppression.email_hash == Delivery.email_hash, isouter=True)
        .where(Delivery.id.in_(owned))
    ).all()
    # Suppression and consent are checked again at send time: they may have
    # changed since the row was queued.
    live = [
        (delivery_id, subscriber)
        for delivery_id, subscriber, suppressed in rows
        if subscriber is not None
        and not suppressed
        and subscriber.status is SubscriberStatus.confirmed
    ]
    live_ids = {delivery_id for delivery_id, _ in live}
    skipped = [delivery_id for delivery_id, _, _ in rows if delivery_id not in live_ids]
    ledger.mark(session, skipped, DeliveryStatus.skipped, error="suppressed or not confirmed")
    chosen = assign_variants(session, site, campaign, [s.id for _, s in live], list(editions))
    active = {f"{d.name}@{d.version}": d for d in site.disclaimers}
    groups: dict[str, _Group] = {}
    for delivery_id, subscriber in live:
        edition = editions[chosen[subscriber.id]]
        group = groups.setdefault(edition.variant, _Group(edition, [], []))
        group.delivery_ids.append(delivery_id)
        group.recipients.append(
            campaign_recipient(
                links,
                email=subscriber.email,
                name=subscriber.name,
                country=subscriber.country,
                subscriber_id=subscriber.id,
                campaign_id=campaign.id,
                delivery_id=delivery_id,
                sponsor_name=edition.sponsor_name,
                disclaimers=[active[x] for x in edition.disclaimers if x in active],
            )
        )
    for group in groups.values():
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(group.delivery_ids))
            .values(
                edition_variant=group.edition.variant,
                sponsor_name=group.edition.sponsor_name,
                disclaimers=group.edition.disclaimers,
            )
        )
    return groups, skipped


def _deliver(db: Database, sender: MailSender, envelope: Envelope, group: _Group) -> BatchOutcome:
    ids = group.delivery_ids
    try:
        receipt = sender.send_batch(envelope, group.recipients)
    except TransientSendError:
        with db.session() as session:
            ledger.release(session, ids)
        raise
    except PermanentSendError as exc:
        with db.session() as session:
            ledger.mark(session, ids, DeliveryStatus.failed, error=str(exc)[:2000])
        return BatchOutcome(failed=len(ids), error=str(exc))
    except UncertainSendError as exc:
        with db.session() as session:
            ledger.mark(session, ids, DeliveryStatus.uncertain, error=str(exc)[:2000])
        return BatchOutcome(uncertain=len(ids), error=str(exc))
    with db.session() as session:
        ledger.mark(
            session, ids, DeliveryStatus.sent, message_id=receipt.message_id, sent_at=utcnow()
        )
    return BatchOutcome(sent=len(ids))


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
