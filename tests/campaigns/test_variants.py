"""Frequency caps and audience lists, decided per subscriber through the real send path."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns.compose import CampaignError, build_edition
from campaigns.variants import DEFAULT, HOUSE, NONE, variant_plan
from config.site import SiteConfig
from db.engine import Database
from db.models import Campaign, DeliveryStatus
from tests.campaigns.sample_edition import evergreen_site
from tests.support.editions import (
    add_people,
    deliveries,
    mail_parts,
    new_campaign,
    seen_before,
    send,
    store_posts,
)


def only_sponsors(site: SiteConfig, *names: str) -> SiteConfig:
    return site.model_copy(update={"sponsors": tuple(s for s in site.sponsors if s.name in names)})


def test_plan_offers_every_sponsor_in_rotation_then_house_then_none() -> None:
    site = evergreen_site()
    plan = variant_plan(site, Campaign(id=7, list_slugs=["videos", "weekly"]))
    names = [variant for variant, _ in plan]
    assert names == [DEFAULT, "sponsor-2", HOUSE, NONE]
    assert {s.name for _, s in plan[:2] if s} == {"Saltmarsh Tea", "Harbour Lamps"}
    assert plan[2][1] is not None and plan[2][1].house


def test_a_capped_subscriber_gets_the_house_ad(db: Database, tmp_path: Path) -> None:
    site = only_sponsors(evergreen_site(), "Saltmarsh Tea", "Tidewater workshop")  # cap 7 days
    store_posts(db)
    capped, stale, failed, _fresh = add_people(
        db,
        [
            ("capped@example.org", ["videos"], None),
            ("stale@example.org", ["videos"], None),
            ("failed@example.org", ["videos"], None),
            ("fresh@example.org", ["videos"], None),
        ],
    )
    seen_before(db, capped, "Saltmarsh Tea", days_ago=2, status=DeliveryStatus.sent)
    seen_before(db, stale, "Saltmarsh Tea", days_ago=8, status=DeliveryStatus.sent)
    seen_before(db, failed, "Saltmarsh Tea", days_ago=1, status=DeliveryStatus.failed)
    campaign_id = new_campaign(db, site)
    send(db, site, campaign_id, tmp_path)

    rows = deliveries(db, campaign_id)
    assert rows["capped@example.org"].sponsor_name == "Tidewater workshop"
    assert rows["capped@example.org"].edition_variant == HOUSE
    for email in ("stale@example.org", "failed@example.org", "fresh@example.org"):
        assert rows[email].sponsor_name == "Saltmarsh Tea"
        assert rows[email].edition_variant == DEFAULT
    capped_mail = mail_parts(tmp_path, "capped@example.org")
    assert "Tidewater workshop" in capped_mail and "Saltmarsh Tea" not in capped_mail


def test_a_capped_subscriber_gets_the_next_sponsor_in_rotation(
    db: Database, tmp_path: Path
) -> None:
    site = evergreen_site()
    store_posts(db)
    capped, _other = add_people(
        db, [("capped@example.org", ["weekly"], None), ("other@example.org", ["weekly"], None)]
    )
    campaign_id = new_campaign(db, site)
    with db.session() as session:
        plan = variant_plan(site, session.get_one(Campaign, campaign_id))
    first, second = plan[0][1], plan[1][1]
    assert first is not None and second is not None and not second.house
    seen_before(db, capped, first.name, days_ago=1, status=DeliveryStatus.sent)
    send(db, site, campaign_id, tmp_path)

    rows = deliveries(db, campaign_id)
    assert rows["capped@example.org"].sponsor_name == second.name
    assert rows["other@example.org"].sponsor_name == first.name


def test_capped_everywhere_without_a_house_ad_means_no_sponsor(
    db: Database, tmp_path: Path
) -> None:
    site = only_sponsors(evergreen_site(), "Saltmarsh Tea")
    store_posts(db)
    (capped,) = add_people(db, [("capped@example.org", ["videos"], None)])
    seen_before(db, capped, "Saltmarsh Tea", days_ago=6.5, status=DeliveryStatus.sent)
    campaign_id = new_campaign(db, site)
    send(db, site, campaign_id, tmp_path)

    row = deliveries(db, campaign_id)["capped@example.org"]
    assert (row.edition_variant, row.sponsor_name) == (NONE, None)
    assert "SPONSORED" not in mail_parts(tmp_path, "capped@example.org").upper()


def test_a_sponsor_reaches_only_its_audience_lists(db: Database, tmp_path: Path) -> None:
    site = only_sponsors(evergreen_site(), "Harbour Lamps")  # lists = ["weekly"]
    store_posts(db)
    add_people(
        db, [("weekly@example.org", ["weekly"], None), ("videos@example.org", ["videos"], None)]
    )
    campaign_id = new_campaign(db, site)
    send(db, site, campaign_id, tmp_path)

    rows = deliveries(db, campaign_id)
    assert rows["weekly@example.org"].sponsor_name == "Harbour Lamps"
    assert rows["videos@example.org"].sponsor_name is None


def test_delivery_records_the_disclaimer_versions_it_carried(db: Database, tmp_path: Path) -> None:
    site = evergreen_site()
    store_posts(db)
    add_people(db, [("us@example.org", ["videos"], "US"), ("nz@example.org", ["videos"], "NZ")])
    campaign_id = new_campaign(db, site)
    send(db, site, campaign_id, tmp_path)

    rows = deliveries(db, campaign_id)
    for row in rows.values():
        assert row.status is DeliveryStatus.sent
        assert row.disclaimers == ["medical@2", "sponsors@4"]
    us_mail = mail_parts(tmp_path, "us@example.org")
    nz_mail = mail_parts(tmp_path, "nz@example.org")
    assert "call or text 988" in us_mail and "1737" not in us_mail
    assert "1737" in nz_mail and "988" not in nz_mail


def test_a_campaign_without_a_postal_address_cannot_be_sent(db: Database, tmp_path: Path) -> None:
    site = evergreen_site()
    blank = site.model_copy(
        update={"newsletter": site.newsletter.model_copy(update={"postal_address": "  "})}
    )
    store_posts(db)
    add_people(db, [("reader@example.org", ["videos"], None)])
    campaign_id = new_campaign(db, blank)
    with pytest.raises(CampaignError, match="postal address"):
        send(db, blank, campaign_id, tmp_path)
    assert deliveries(db, campaign_id) == {}
    assert not list(tmp_path.glob("*.eml"))


def test_build_edition_defaults_to_the_rotations_first_sponsor(db: Database) -> None:
    site = evergreen_site()
    store_posts(db)
    campaign_id = new_campaign(db, site)
    with db.session() as session:
        campaign = session.get_one(Campaign, campaign_id)
        (_, first), *_ = variant_plan(site, campaign)
        assert first is not None
        assert build_edition(session, site, campaign).sponsor_name == first.name
        assert build_edition(session, site, campaign, sponsor=None).sponsor_name is None
