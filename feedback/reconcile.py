"""Settling `uncertain` deliveries: the provider call may or may not have happened.

Two ways out, never a silent double send:
- confirmed: an event carries the delivery id, so SendGrid took the message;
  the row becomes `sent` (events usually settle this as they are applied; the
  sweep here also catches events that arrived while the row was still `sending`);
- after `after` with no event at all: re-sent once (back to `queued`, the caller
  enqueues the send) or left for the admin (`held`), by policy. A row already
  re-sent that turns uncertain again is held: it is never sent a third time.

The outcome is kept in `Delivery.reconciliation`, so reports count each kind.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from config.settings import Settings
from db.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Event, utcnow
from delivery.sender import MAX_BATCH

# Campaigns whose uncertain rows may be re-sent; a paused or cancelled one is left alone.
RESENDABLE = (CampaignStatus.sending, CampaignStatus.sent)


@dataclass(frozen=True)
class Policy:
    after: dt.timedelta = dt.timedelta(minutes=30)
    action: Literal["resend", "hold"] = "resend"

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            after=dt.timedelta(minutes=settings.reconcile_after_minutes),
            action=settings.reconcile_action,
        )


@dataclass
class Reconciled:
    confirmed: int = 0
    held: int = 0
    # campaign id -> delivery ids now queued again; the caller enqueues them after commit.
    resend: dict[int, list[int]] = field(default_factory=dict)

    @property
    def resent(self) -> int:
        return sum(len(ids) for ids in self.resend.values())

    def batches(self) -> list[tuple[int, list[int]]]:
        """(campaign id, delivery ids) in slices a sender takes in one call."""
        return [
            (campaign_id, ids[start : start + MAX_BATCH])
            for campaign_id, ids in self.resend.items()
            for start in range(0, len(ids), MAX_BATCH)
        ]


def reconcile(
    session: Session, policy: Policy, now: dt.datetime | None = None, limit: int = 10_000
) -> Reconciled:
    now = now or utcnow()
    result = Reconciled(confirmed=_confirm_from_stored_events(session))
    cutoff = now - policy.after
    stale = session.execute(
        select(Delivery.id, Delivery.campaign_id, Delivery.reconciliation, Campaign.status)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(
            Delivery.status == DeliveryStatus.uncertain,
            or_(Delivery.reconciliation.is_(None), Delivery.reconciliation == "resent"),
            func.coalesce(Delivery.claimed_at, Delivery.queued_at) < cutoff,
        )
        .order_by(Delivery.id)
        .limit(limit)
    ).all()
    hold: list[int] = []
    resend: dict[int, list[int]] = defaultdict(list)
    for row in stale:
        if policy.action == "resend" and row.reconciliation is None and row.status in RESENDABLE:
            resend[row.campaign_id].append(row.id)
        else:
            hold.append(row.id)
    minutes = int(policy.after.total_seconds() // 60)
    if hold:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(hold))
            .values(
                reconciliation="held",
                error=f"no provider event after {minutes} min; left for the admin",
            )
            .execution_options(synchronize_session=False)
        )
    for campaign_id, ids in resend.items():
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.uncertain)
            .values(
                status=DeliveryStatus.queued,
                reconciliation="resent",
                batch_key=None,
                error=f"no provider event after {minutes} min; re-sent once",
            )
            .execution_options(synchronize_session=False)
        )
        _reopen(session, campaign_id)
    result.held = len(hold)
    result.resend = dict(resend)
    return result


def _confirm_from_stored_events(session: Session) -> int:
    has_event = exists().where(Event.delivery_id == Delivery.id)
    first_event = (
        select(func.min(Event.occurred_at))
        .where(Event.delivery_id == Delivery.id)
        .scalar_subquery()
    )
    confirmed = session.execute(
        update(Delivery)
        .where(
            has_event,
            or_(
                Delivery.status == DeliveryStatus.uncertain,
                and_(Delivery.status == DeliveryStatus.queued, Delivery.reconciliation == "resent"),
            ),
        )
        .values(
            status=DeliveryStatus.sent,
            reconciliation="confirmed",
            sent_at=func.coalesce(Delivery.sent_at, first_event),
        )
        .execution_options(synchronize_session=False)
        .returning(Delivery.id)
    ).all()
    return len(confirmed)


def _reopen(session: Session, campaign_id: int) -> None:
    """A finished campaign goes back to `sending` so the send task takes its re-queued rows;
    the task marks it sent again once they are done."""
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.sent)
        .values(status=CampaignStatus.sending, status_reason="re-sending deliveries left uncertain")
        .execution_options(synchronize_session=False)
    )
