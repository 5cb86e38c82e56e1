"""Uncertain deliveries settle both ways: confirmed by an event, or re-sent or held without."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import update

from campaigns.compose import create_campaign
from config.runtime import Runtime
from db.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, utcnow
from delivery import campaign_send
from delivery.message import BatchReceipt, Envelope, Recipient, UncertainSendError
from feedback.apply import Rules, apply_events
from feedback.events import parse_events, store_events
from feedback.reconcile import Policy, reconcile
from tasks.events import reconcile_feedback
from tests.support.sendgrid_events import (
    Signer,
    add_people,
    deliveries_by_email,
    event,
    with_webhook_key,
)

PEOPLE = ["ada@example.org", "ben@example.org", "cy@example.org"]


class TimesOutMidCall:
    """A provider whose answer never arrives: the call may or may not have happened."""

    name = "times-out"

    def send_batch(self, envelope: Envelope, recipients: Sequence[Recipient]) -> BatchReceipt:
        raise UncertainSendError("read timeout after the request was written")

    def close(self) -> None:
        pass


def uncertain_campaign(rt: Runtime) -> tuple[int, dict[str, int]]:
    """A campaign whose only batch ended `uncertain`, through the real send steps."""
    add_people(rt, PEOPLE)
    with rt.db.session() as session:
        campaign_id = create_campaign(
            session, rt.site, lists=["videos"], subject="Hi", intro="A note from the editor."
        ).id
    outcome = campaign_send.send_inline(rt.db, rt.site, TimesOutMidCall(), rt.links, campaign_id)
    assert outcome.uncertain == len(PEOPLE) and outcome.sent == 0
    assert campaign_send.finish_if_done(rt.db, campaign_id)
    return campaign_id, deliveries_by_email(rt, campaign_id)


def state(rt: Runtime, delivery_id: int) -> tuple[DeliveryStatus, str | None]:
    with rt.db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row.status, row.reconciliation


def age_claims(rt: Runtime, minutes: int) -> None:
    """Time passes: every claim happened `minutes` ago."""
    with rt.db.session() as session:
        session.execute(
            update(Delivery).values(claimed_at=utcnow() - dt.timedelta(minutes=minutes))
        )


def outbox(rt: Runtime) -> list[Path]:
    return sorted(rt.settings.outbox_dir.glob("*.eml"))


def test_an_event_naming_an_uncertain_delivery_makes_it_sent(rt: Runtime) -> None:
    _cid, ids = uncertain_campaign(rt)
    with rt.db.session() as session:
        store_events(
            session,
            parse_events(
                [
                    event("processed", "ada@example.org", delivery_id=ids["ada@example.org"]),
                    event("delivered", "ben@example.org", delivery_id=ids["ben@example.org"]),
                ]
            ).rows,
        )
    with rt.db.session() as session:
        assert apply_events(session, Rules()).confirmed == 2
    assert state(rt, ids["ada@example.org"]) == (DeliveryStatus.sent, "confirmed")
    assert state(rt, ids["ben@example.org"]) == (DeliveryStatus.sent, "confirmed")
    assert state(rt, ids["cy@example.org"]) == (DeliveryStatus.uncertain, None)


def test_an_event_stored_before_the_row_turned_uncertain_confirms_it_in_the_sweep(
    rt: Runtime,
) -> None:
    _cid, ids = uncertain_campaign(rt)
    d = ids["ada@example.org"]
    with rt.db.session() as session:
        # The event arrived while the worker still held the row in `sending`.
        session.execute(update(Delivery).where(Delivery.id == d).values(status="sending"))
        store_events(
            session, parse_events([event("processed", "ada@example.org", delivery_id=d)]).rows
        )
    with rt.db.session() as session:
        assert apply_events(session, Rules()).confirmed == 0
        session.execute(update(Delivery).where(Delivery.id == d).values(status="uncertain"))
    with rt.db.session() as session:
        result = reconcile(session, Policy())
    assert result.confirmed == 1
    assert state(rt, d) == (DeliveryStatus.sent, "confirmed")


def test_without_events_an_uncertain_delivery_is_resent_once(rt: Runtime) -> None:
    campaign_id, ids = uncertain_campaign(rt)
    assert outbox(rt) == []
    age_claims(rt, 31)
    outcome = reconcile_feedback.apply().get()  # the periodic task, in-process (embedded mode)
    assert outcome["resent"] == 3
    for d in ids.values():
        assert state(rt, d) == (DeliveryStatus.sent, "resent")
    assert len(outbox(rt)) == 3  # re-sent through tasks.sending.send_batch, enqueued by name
    with rt.db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.status is CampaignStatus.sent
    # Nothing is left to do: a second run re-sends nothing.
    assert reconcile_feedback.apply().get()["resent"] == 0
    assert len(outbox(rt)) == 3


def test_a_recent_uncertain_delivery_is_left_alone(rt: Runtime) -> None:
    _cid, ids = uncertain_campaign(rt)
    age_claims(rt, 29)
    with rt.db.session() as session:
        result = reconcile(session, Policy(after=dt.timedelta(minutes=30)))
    assert (result.resent, result.held) == (0, 0)
    assert state(rt, ids["ada@example.org"]) == (DeliveryStatus.uncertain, None)


def test_the_hold_policy_leaves_it_for_the_admin(runtime: Runtime) -> None:
    rt = with_webhook_key(runtime, Signer(), reconcile_action="hold")
    _cid, ids = uncertain_campaign(rt)
    age_claims(rt, 45)
    assert reconcile_feedback.apply().get()["held"] == 3
    assert state(rt, ids["ada@example.org"]) == (DeliveryStatus.uncertain, "held")
    assert outbox(rt) == []
    assert reconcile_feedback.apply().get()["held"] == 0  # held once, not re-counted


def test_a_delivery_resent_and_uncertain_again_is_held_not_sent_a_third_time(
    rt: Runtime,
) -> None:
    _cid, ids = uncertain_campaign(rt)
    age_claims(rt, 31)
    with rt.db.session() as session:
        first = reconcile(session, Policy())
    assert first.resent == 3
    for campaign_id, delivery_ids in first.batches():
        campaign_send.send_batch(
            rt.db, rt.site, TimesOutMidCall(), rt.links, campaign_id, delivery_ids
        )
    age_claims(rt, 31)
    with rt.db.session() as session:
        second = reconcile(session, Policy())
    assert (second.resent, second.held) == (0, 3)
    assert state(rt, ids["cy@example.org"]) == (DeliveryStatus.uncertain, "held")


def test_a_late_event_cancels_a_resend_not_yet_made(rt: Runtime) -> None:
    _cid, ids = uncertain_campaign(rt)
    age_claims(rt, 31)
    with rt.db.session() as session:
        assert reconcile(session, Policy()).resent == 3
    d = ids["ben@example.org"]
    with rt.db.session() as session:
        store_events(
            session, parse_events([event("delivered", "ben@example.org", delivery_id=d)]).rows
        )
    with rt.db.session() as session:
        apply_events(session, Rules())
    assert state(rt, d) == (DeliveryStatus.sent, "confirmed")


@pytest.mark.parametrize("status", [CampaignStatus.paused, CampaignStatus.cancelled])
def test_a_paused_or_cancelled_campaign_is_not_resent(rt: Runtime, status: CampaignStatus) -> None:
    campaign_id, _ = uncertain_campaign(rt)
    with rt.db.session() as session:
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status=status))
    age_claims(rt, 31)
    with rt.db.session() as session:
        result = reconcile(session, Policy())
    assert (result.resent, result.held) == (0, 3)
