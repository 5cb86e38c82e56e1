"""GET /archive and /archive/{id}: sent editions only, public, with no personal links."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from config.runtime import Runtime
from db.models import Campaign, CampaignStatus, Post, SponsorClick
from tests.campaigns.sample_edition import evergreen_site
from tests.support.editions import add_people, new_campaign, send, store_posts
from web.app import create_app


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    runtime.__dict__["site"] = evergreen_site()
    return TestClient(create_app(runtime), follow_redirects=False)


@pytest.fixture
def sent_campaign(runtime: Runtime, tmp_path: Path) -> int:
    store_posts(runtime.db)
    add_people(runtime.db, [("reader@example.org", ["videos", "weekly"], "US")])
    campaign_id = new_campaign(runtime.db, runtime.site)
    send(runtime.db, runtime.site, campaign_id, tmp_path)
    return campaign_id


def framed_email(page: str) -> str:
    match = re.search(r'srcdoc="([^"]*)"', page)
    assert match is not None
    return html.unescape(match.group(1))


def test_index_lists_sent_campaigns_only(
    client: TestClient, runtime: Runtime, sent_campaign: int
) -> None:
    draft_id = new_campaign(runtime.db, runtime.site)
    page = client.get("/archive")
    assert page.status_code == 200
    assert f'href="http://testserver/archive/{sent_campaign}"' in page.text
    assert "Tide Breathing: a Four-Count Reset for Busy Evenings" in page.text  # rendered subject
    assert f"/archive/{draft_id}" not in page.text


def test_index_without_sent_campaigns_says_so(client: TestClient) -> None:
    page = client.get("/archive")
    assert page.status_code == 200
    assert "Nothing here yet" in page.text


def test_a_sent_edition_is_public_without_personal_links(
    client: TestClient, sent_campaign: int
) -> None:
    page = client.get(f"/archive/{sent_campaign}")
    assert page.status_code == 200
    edition = framed_email(page.text)
    assert "A Field Guide to the 4 p.m. Slump" in edition
    assert ">Sponsored<" in edition
    assert "Tidewater Notes is general education, not medical advice." in edition
    assert "If you are in danger, call your local emergency number." in edition
    for personal in ("/unsubscribe/", "/preferences/", "[%", "Unsubscribe"):
        assert personal not in page.text
    assert 'href="http://testserver/"' in edition  # subscribe instead


def test_the_archive_sponsor_link_is_tracked_without_a_delivery(
    client: TestClient, runtime: Runtime, sent_campaign: int
) -> None:
    edition = framed_email(client.get(f"/archive/{sent_campaign}").text)
    match = re.search(r'rel="sponsored" href="http://testserver(/r/[^"]+)"', edition)
    assert match is not None
    assert client.get(match.group(1)).status_code == 302
    with runtime.db.session() as session:
        click = session.scalars(select(SponsorClick)).one()
        assert (click.campaign_id, click.delivery_id) == (sent_campaign, None)


def test_a_sent_campaign_whose_posts_were_deleted_is_a_404_not_a_500(
    client: TestClient, runtime: Runtime, sent_campaign: int
) -> None:
    with runtime.db.session() as session:
        session.execute(delete(Post).where(Post.id == 102))
    page = client.get(f"/archive/{sent_campaign}")
    assert page.status_code == 404
    assert "Not in the archive" in page.text


def test_unsent_and_unknown_campaigns_are_not_in_the_archive(
    client: TestClient, runtime: Runtime
) -> None:
    store_posts(runtime.db)
    draft_id = new_campaign(runtime.db, runtime.site)
    with runtime.db.session() as session:
        failed = Campaign(
            subject="Never sent",
            subject_template="Never sent",
            status=CampaignStatus.failed,
            list_slugs=["videos"],
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(failed)
        session.flush()
        failed_id = failed.id
    for campaign_id in (draft_id, failed_id, 999_999):
        page = client.get(f"/archive/{campaign_id}")
        assert page.status_code == 404
        assert "Not in the archive" in page.text
    assert client.get(f"/archive/{2**64}").status_code == 422  # not an id at all
