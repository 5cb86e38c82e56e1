"""The ledger's fan-out: slices of the audience become queued rows, once."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.compose import create_campaign
from config.site import SiteConfig
from db.engine import Database
from db.models import Campaign, Delivery, DeliveryStatus, SubscriberStatus
from delivery import ledger
from subscribers.addresses import email_hash
from subscribers.service import suppress
from tests.support.seed import seed_subscribers


def new_campaign(db: Database, site: SiteConfig) -> int:
    with db.session() as session:
        return create_campaign(
            session, site, lists=["videos"], subject="Hello", intro="A note from the editor."
        ).id


def test_a_slice_becomes_handed_over_rows_with_the_subscribers_hash(
    db: Database, site: SiteConfig
) -> None:
    seed_subscribers(db, 5)
    seed_subscribers(db, 2, start=100, status=SubscriberStatus.pending)
    with db.session() as session:
        suppress(session, email_hash("reader3@example.org"), "complained")
    cid = new_campaign(db, site)
    with db.session() as session:
        campaign = session.get_one(Campaign, cid)
        # Slices are ranges of three subscriber ids: 1-3, 4-6 (4 is suppressed), then
        # 7-9 (7 is pending), then no member of the list is left.
        slices = [ledger.queue_next_slice(session, campaign, site.newsletter.tz, limit=3)]
        while not campaign.fanout_done:
            slices.append(ledger.queue_next_slice(session, campaign, site.newsletter.tz, limit=3))
        assert [len(due) for due in slices] == [3, 1, 0, 0]
    with db.session() as session:
        rows = session.execute(
            select(
                Delivery.email_hash,
                Delivery.status,
                Delivery.claimed_at,
                Delivery.not_before,
                Delivery.attempts,
            )
        ).all()
        counts = ledger.counts_by_status(session, cid)
    expected = {email_hash(f"reader{n}@example.org") for n in (0, 1, 2, 4)}
    assert {row.email_hash for row in rows} == expected
    # Stored as `sending` with no claim time (the claim then updates in place);
    # reported as queued.
    assert {(row.status, row.claimed_at, row.not_before, row.attempts) for row in rows} == {
        (DeliveryStatus.sending, None, None, 0)
    }
    assert counts["queued"] == 4 and counts["sending"] == 0


def test_a_slice_written_again_after_a_crash_adds_no_rows(db: Database, site: SiteConfig) -> None:
    seed_subscribers(db, 4)
    cid = new_campaign(db, site)
    with db.session() as session:
        campaign = session.get_one(Campaign, cid)
        first = ledger.queue_next_slice(session, campaign, site.newsletter.tz, limit=10)
        campaign.fanout_cursor = 0  # as if the cursor's commit was lost in a crash
        again = ledger.queue_next_slice(session, campaign, site.newsletter.tz, limit=10)
        # The rows already written are not handed out twice by the fan-out; the
        # re-enqueueing of unclaimed rows that starts every send_campaign finds them.
        assert again == [] and len(first) == 4
        assert ledger.queued_ids_after(session, cid, 0) == first
    with db.session() as session:
        assert len(session.scalars(select(Delivery.id)).all()) == 4
