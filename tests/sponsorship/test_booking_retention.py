"""A booking's report reads the same after retention traded its campaign's rows for counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select, update

from config.runtime import Runtime
from db.models import Campaign, Delivery, utcnow
from delivery import retention
from sponsorship.reports import booking_report
from tests.campaigns.sample_edition import evergreen_site
from tests.sponsorship.desk import approved_slot
from tests.support.editions import add_people, new_campaign, send, store_posts


def test_a_bookings_impressions_survive_the_ledgers_retention(
    runtime: Runtime, tmp_path: Path
) -> None:
    site = evergreen_site()
    runtime.__dict__["site"] = site
    db = runtime.db
    today = utcnow().astimezone(site.newsletter.tz).date()
    _, booking_id = approved_slot(db, site, today, "videos")
    store_posts(db)
    add_people(db, [(f"reader{n}@example.org", ["videos"], None) for n in range(4)])
    campaign_id = new_campaign(db, site)
    send(db, site, campaign_id, tmp_path)
    with db.session() as session:
        before = booking_report(session, booking_id)
    assert before.impressions == 4 and before.days

    keep = dt.timedelta(days=runtime.settings.delivery_retention_days)
    assert retention.roll_up_expired(db, keep, now=utcnow() + keep + dt.timedelta(days=1)) == [
        campaign_id
    ]
    with db.session() as session:
        left = session.scalar(select(func.count()).where(Delivery.campaign_id == campaign_id))
        assert left == 0
        assert session.get_one(Campaign, campaign_id).ledger_rolled_up_at is not None
        after = booking_report(session, booking_id)
    assert after.campaigns == before.campaigns
    assert after.days == before.days


def test_rows_sent_later_still_count_beside_the_roll_up(runtime: Runtime, tmp_path: Path) -> None:
    # A campaign rolled up while another campaign of the same booking keeps its rows.
    site = evergreen_site()
    runtime.__dict__["site"] = site
    db = runtime.db
    today = utcnow().astimezone(site.newsletter.tz).date()
    _, booking_id = approved_slot(db, site, today, "videos")
    store_posts(db)
    add_people(db, [(f"reader{n}@example.org", ["videos"], None) for n in range(3)])
    first = new_campaign(db, site)
    send(db, site, first, tmp_path / "one")
    second = new_campaign(db, site)
    send(db, site, second, tmp_path / "two")
    with db.session() as session:
        long_ago = utcnow() - dt.timedelta(days=400)
        session.execute(update(Campaign).where(Campaign.id == first).values(finished_at=long_ago))
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == first)
            .values(queued_at=long_ago, claimed_at=long_ago, sent_at=long_ago)
        )
    with db.session() as session:
        before = booking_report(session, booking_id)
    assert retention.roll_up_expired(db, dt.timedelta(days=90)) == [first]
    with db.session() as session:
        after = booking_report(session, booking_id)
    assert after.impressions == before.impressions == 6
    assert after.campaigns == before.campaigns
    assert after.days == before.days
