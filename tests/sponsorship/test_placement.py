"""Approved creative reaches the editions of its date and list through the variant
engine, always labelled "Sponsored" with the sponsor's name; clicks count per booking."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.runtime import Runtime
from db.models import Booking, BookingState, Edition, SponsorClick, utcnow
from sponsorship.reports import booking_report, report_csv
from tests.campaigns.sample_edition import evergreen_site
from tests.sponsorship.desk import COPY, approved_slot
from tests.support.editions import (
    add_people,
    deliveries,
    mail_parts,
    new_campaign,
    send,
    store_posts,
)
from web.app import create_app


def test_a_campaign_on_the_booked_day_carries_the_approved_block_and_counts_clicks(
    runtime: Runtime, tmp_path: Path
) -> None:
    site = evergreen_site()
    runtime.__dict__["site"] = site
    db = runtime.db
    today = utcnow().astimezone(site.newsletter.tz).date()
    _, booking_id = approved_slot(db, site, today, "videos")
    store_posts(db)
    add_people(db, [("ada@example.org", ["videos"], None), ("ben@example.org", ["weekly"], None)])
    campaign_id = new_campaign(db, site)
    send(db, site, campaign_id, tmp_path)

    rows = deliveries(db, campaign_id)
    assert rows["ada@example.org"].sponsor_name == "Foldmaps"
    assert rows["ben@example.org"].sponsor_name != "Foldmaps"  # the slot is for videos only
    ada = mail_parts(tmp_path, "ada@example.org")
    assert "Sponsored" in ada and "Foldmaps" in ada and COPY.headline in ada
    assert COPY.text in ada and COPY.cta in ada
    with db.session() as session:
        edition = session.scalar(
            select(Edition).where(Edition.campaign_id == campaign_id, Edition.variant == "default")
        )
        assert edition is not None and edition.booking_id == booking_id
        assert session.get_one(Booking, booking_id).state is BookingState.running

    html = next(p for p in tmp_path.glob("*.html") if "ada" in p.name).read_text()
    sponsor_links = set(re.findall(r'href="(http://testserver/r/[^"]+)"', html))
    assert len(sponsor_links) == 1
    client = TestClient(create_app(runtime), follow_redirects=False)
    [link] = sponsor_links
    first = client.get(urlsplit(link).path)
    assert first.status_code == 302
    assert first.headers["location"].startswith("https://foldmaps.example/walk?ref=news&utm_")
    client.get(urlsplit(link).path)  # the same reader again within the hour: not counted
    with db.session() as session:
        clicks = session.scalars(select(SponsorClick)).all()
        assert [(c.booking_id, c.campaign_id) for c in clicks] == [(booking_id, campaign_id)]
        report = booking_report(session, booking_id)
    assert (report.impressions, report.clicks, report.unique_clicks) == (1, 1, 1)
    assert report.campaigns[0].campaign_id == campaign_id and report.click_rate == 1.0
    assert report.days and report.days[-1][2] == 1
    csv_text = report_csv(report)
    assert csv_text.splitlines()[0].startswith("campaign_id,subject,sent_on,impressions")
    assert "@example.org" not in csv_text


def test_a_sold_slot_leads_its_edition_before_any_flight(runtime: Runtime) -> None:
    """The example site's flights (imported) stay in rotation behind the sold slot."""
    from campaigns.variants import variant_plan
    from db.models import Campaign
    from sponsorship.source import sponsors_for

    site = evergreen_site()
    db = runtime.db
    today = utcnow().astimezone(site.newsletter.tz).date()
    approved_slot(db, site, today, "videos")
    with db.session() as session:
        candidates = sponsors_for(session, site, today)
        assert len(candidates) > 2  # the imported flights and the house ad are there too
        for campaign_id in range(1, 30):
            campaign = Campaign(id=campaign_id, list_slugs=["videos", "weekly"])
            plan = variant_plan(site, campaign, today, candidates)
            assert plan[0][1] is not None and plan[0][1].name == "Foldmaps"


def test_sponsor_text_can_never_remove_the_label_or_the_name(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Creative is data, never template source or markup: the block keeps its label."""
    import dataclasses

    from tests.sponsorship import desk

    site = evergreen_site()
    runtime.__dict__["site"] = site
    hostile = dataclasses.replace(
        desk.COPY,
        headline="{% raw %}{{ '' }}{% endraw %}",
        text='</td></tr></table><p style="display:none">{{ sponsor.name }}{% if 1 %}x{% endif %}',
    )
    today = utcnow().astimezone(site.newsletter.tz).date()
    approved_slot(runtime.db, site, today, "videos", hostile)
    store_posts(runtime.db)
    add_people(runtime.db, [("ada@example.org", ["videos"], None)])
    send(runtime.db, site, new_campaign(runtime.db, site), tmp_path)
    html = next(p for p in tmp_path.glob("*.html") if "ada" in p.name).read_text()
    assert '<p class="sponsor-label"' in html and ">Sponsored</p>" in html
    assert re.search(r'class="sponsor-name"[^>]*>Foldmaps</p>', html)
    assert '<p style="display:none">' not in html and "</table><p" not in html
    assert "{{ sponsor.name }}" in html  # shown as written, not rendered
