"""Ledger retention: old campaigns trade their rows for counts; nothing open is ever dropped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select, update

from campaigns.compose import create_campaign
from config.site import SiteConfig
from db.engine import Database
from db.models import Campaign, Delivery, DeliveryStatus, utcnow
from delivery import campaign_send, ledger, retention
from delivery.outbox import OutboxSender
from delivery.personalize import LinkMaker
from feedback.reports import campaign_report, sponsor_report
from tests.support.seed import seed_subscribers

KEEP = dt.timedelta(days=90)
LINKS = LinkMaker("https://letters.example", "retention-test-secret-0123456789")


def sent_campaign(db: Database, site: SiteConfig, tmp_path: Path, people: int = 30) -> int:
    seed_subscribers(db, people)
    with db.session() as session:
        cid = create_campaign(session, site, lists=["videos"], subject="Hi", intro="A note.").id
    outcome = campaign_send.send_inline(db, site, OutboxSender(tmp_path / "outbox"), LINKS, cid)
    assert outcome.sent == people
    return cid


def rows_of(db: Database, cid: int) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).where(Delivery.campaign_id == cid)) or 0)


def later(days: int) -> dt.datetime:
    return utcnow() + dt.timedelta(days=days)


def test_an_old_campaign_keeps_its_numbers_after_its_rows_are_gone(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    cid = sent_campaign(db, site, tmp_path)
    with db.session() as session:
        some = session.scalars(select(Delivery.id).where(Delivery.campaign_id == cid).limit(3))
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(some)))
            .values(delivered_at=utcnow(), opened=True, clicked=True)
        )
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == cid, Delivery.id.not_in(list(some)))
            .values(reconciliation=None)
        )
    today = utcnow().date()
    with db.session() as session:
        before = campaign_report(session, cid)
        sponsors_before = [r.as_dict() for r in sponsor_report(session, today, today)]
    assert before.sent == 30 and before.delivered == 3 and before.unique_clicks == 3
    assert sum(s["impressions"] for s in sponsors_before) == 30

    # Not yet: within the retention time nothing happens.
    assert retention.roll_up_expired(db, KEEP, now=later(89)) == []
    assert rows_of(db, cid) == 30

    assert retention.roll_up_expired(db, KEEP, now=later(91)) == [cid]
    assert rows_of(db, cid) == 0
    with db.session() as session:
        after = campaign_report(session, cid)
        assert ledger.counts_by_status(session, cid)["sent"] == 30
        sponsors_after = [r.as_dict() for r in sponsor_report(session, today, today)]
        assert sponsor_report(session, today + dt.timedelta(days=1)) == []
        assert session.get_one(Campaign, cid).ledger_rolled_up_at is not None
    assert (after.audience, after.sent, after.delivered, after.unique_clicks) == (30, 30, 3, 3)
    assert after.statuses == before.statuses
    assert sponsors_after == sponsors_before
    # Once only: a second pass finds nothing to do and changes no count.
    assert retention.roll_up_expired(db, KEEP, now=later(200)) == []
    with db.session() as session:
        assert ledger.counts_by_status(session, cid)["sent"] == 30


def test_retention_never_drops_a_delivery_still_uncertain(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    cid = sent_campaign(db, site, tmp_path)
    with db.session() as session:
        one = session.scalars(select(Delivery.id).where(Delivery.campaign_id == cid)).first()
        session.execute(
            update(Delivery).where(Delivery.id == one).values(status=DeliveryStatus.uncertain)
        )
    assert retention.roll_up_expired(db, KEEP, now=later(3650)) == []
    assert rows_of(db, cid) == 30
    with db.session() as session:
        assert session.get_one(Delivery, one).status is DeliveryStatus.uncertain


def test_retention_waits_for_a_resend_within_its_reconciliation_window(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    # Reconciliation re-sent one row 60 days after the campaign finished: the
    # campaign's clock restarts from that send, not from its first finish.
    cid = sent_campaign(db, site, tmp_path)
    with db.session() as session:
        one = session.scalars(select(Delivery.id).where(Delivery.campaign_id == cid)).first()
        session.execute(
            update(Delivery)
            .where(Delivery.id == one)
            .values(reconciliation="resent", sent_at=later(60), claimed_at=later(60))
        )
    assert retention.roll_up_expired(db, KEEP, now=later(91)) == []
    assert rows_of(db, cid) == 30
    assert retention.roll_up_expired(db, KEEP, now=later(151)) == [cid]
    with db.session() as session:
        assert campaign_report(session, cid).resent == 1


def test_a_campaign_still_sending_is_never_rolled_up(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    cid = sent_campaign(db, site, tmp_path)
    with db.session() as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == cid)
            .values(status="sending", finished_at=utcnow() - dt.timedelta(days=400))
        )
    assert retention.roll_up_expired(db, KEEP, now=later(3650)) == []
    assert rows_of(db, cid) == 30
