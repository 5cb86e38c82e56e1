"""Previews (CLI, admin API) and the archive show the same edition; --as fills real links."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from campaigns.preview import get_campaign, preview
from cli.main import app as cli
from config.runtime import Runtime
from db.models import DeliveryStatus
from subscribers.tokens import Purpose, read_token
from tests.campaigns.sample_edition import evergreen_site
from tests.support.editions import (
    add_people,
    edition_content,
    new_campaign,
    seen_before,
    send,
    store_posts,
)
from web.app import create_app


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    runtime.__dict__["site"] = evergreen_site()
    store_posts(runtime.db)
    return runtime


def admin(rt: Runtime) -> TestClient:
    client = TestClient(create_app(rt))
    client.headers["Authorization"] = f"Bearer {rt.settings.admin_token}"
    return client


def test_neutral_preview_fills_every_placeholder_with_stand_ins(rt: Runtime) -> None:
    campaign_id = new_campaign(rt.db, rt.site)
    with rt.db.session() as session:
        shown = preview(session, rt.site, rt.links, get_campaign(session, campaign_id))
    assert shown.variant == "default"
    assert "[%" not in shown.html + shown.text + shown.subject
    assert 'href="#unsubscribe"' in shown.html
    assert "If you are in danger, call your local emergency number." in shown.text


def test_preview_as_a_subscriber_uses_their_real_links_and_country(rt: Runtime) -> None:
    (reader,) = add_people(rt.db, [("reader@example.org", ["videos"], "NZ")])
    campaign_id = new_campaign(rt.db, rt.site)
    with rt.db.session() as session:
        shown = preview(
            session, rt.site, rt.links, get_campaign(session, campaign_id), "Reader@Example.org"
        )
    match = re.search(r"Unsubscribe: http://testserver/unsubscribe/(\S+)", shown.text)
    assert match is not None
    secret = rt.settings.secret_key
    assert read_token(secret, Purpose.unsubscribe, match.group(1)) == [reader, campaign_id]
    assert "In Aotearoa, call or text 1737." in shown.text


def test_preview_as_a_capped_subscriber_shows_their_variant(rt: Runtime) -> None:
    site = rt.site.model_copy(
        update={"sponsors": tuple(s for s in rt.site.sponsors if s.name != "Harbour Lamps")}
    )
    rt.__dict__["site"] = site
    (capped,) = add_people(rt.db, [("capped@example.org", ["videos"], None)])
    seen_before(rt.db, capped, "Saltmarsh Tea", days_ago=1, status=DeliveryStatus.sent)
    campaign_id = new_campaign(rt.db, site)
    with rt.db.session() as session:
        campaign = get_campaign(session, campaign_id)
        shown = preview(session, site, rt.links, campaign, "capped@example.org")
        neutral = preview(session, site, rt.links, campaign)
    assert (shown.variant, shown.sponsor_name) == ("house", "Tidewater workshop")
    assert neutral.sponsor_name == "Saltmarsh Tea"


def test_unknown_campaign_or_subscriber_is_one_clear_error(rt: Runtime) -> None:
    campaign_id = new_campaign(rt.db, rt.site)
    with rt.db.session() as session:
        with pytest.raises(LookupError, match="no campaign with id 4040"):
            get_campaign(session, 4040)
        campaign = get_campaign(session, campaign_id)
        with pytest.raises(LookupError, match=r"no subscriber with address nobody@example\.org"):
            preview(session, rt.site, rt.links, campaign, "nobody@example.org")
    response = admin(rt).get(f"/api/campaigns/{campaign_id}/preview", params={"as": "x@@y"})
    assert response.status_code == 404
    result = CliRunner().invoke(cli, ["campaign", "preview", "4040"])
    assert result.exit_code == 1
    assert "no campaign with id 4040" in result.output


def test_admin_preview_of_an_unsendable_campaign_is_a_422(rt: Runtime) -> None:
    site = rt.site
    rt.__dict__["site"] = site.model_copy(
        update={"newsletter": site.newsletter.model_copy(update={"postal_address": " "})}
    )
    campaign_id = new_campaign(rt.db, rt.site)
    response = admin(rt).get(f"/api/campaigns/{campaign_id}/preview")
    assert response.status_code == 422
    assert "postal address" in response.json()["detail"]


def test_cli_preview_writes_html_or_prints_text(rt: Runtime, tmp_path: Path) -> None:
    add_people(rt.db, [("reader@example.org", ["videos"], "US")])
    campaign_id = new_campaign(rt.db, rt.site)
    out = tmp_path / "preview.html"
    runner = CliRunner()
    as_reader = ["--as", "reader@example.org", "--out", str(out)]
    result = runner.invoke(cli, ["campaign", "preview", str(campaign_id), *as_reader])
    assert result.exit_code == 0, result.output
    assert "In the US, call or text 988." in out.read_text()
    assert "/unsubscribe/" in out.read_text()
    printed = runner.invoke(cli, ["campaign", "preview", str(campaign_id)])
    assert printed.exit_code == 0, printed.output
    assert printed.output.startswith("Subject: Tide Breathing")
    assert "SPONSORED: " in printed.output


def test_admin_preview_serves_html_and_text(rt: Runtime) -> None:
    campaign_id = new_campaign(rt.db, rt.site)
    client = admin(rt)
    page = client.get(f"/api/campaigns/{campaign_id}/preview")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["x-edition-variant"] == "default"
    text = client.get(f"/api/campaigns/{campaign_id}/preview", params={"format": "text"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "PLEASE NOTE" in text.text
    assert (
        TestClient(create_app(rt)).get(f"/api/campaigns/{campaign_id}/preview").status_code == 401
    )


def test_cli_admin_preview_and_archive_show_the_same_edition(rt: Runtime, tmp_path: Path) -> None:
    add_people(rt.db, [("reader@example.org", ["videos", "weekly"], None)])
    campaign_id = new_campaign(rt.db, rt.site)
    send(rt.db, rt.site, campaign_id, tmp_path / "outbox")
    out = tmp_path / "preview.html"
    result = CliRunner().invoke(cli, ["campaign", "preview", str(campaign_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    api = admin(rt).get(
        f"/api/campaigns/{campaign_id}/preview", params={"as": "reader@example.org"}
    )
    archive = TestClient(create_app(rt)).get(f"/archive/{campaign_id}")
    srcdoc = re.search(r'srcdoc="([^"]*)"', archive.text)
    assert srcdoc is not None
    views = [out.read_text(), api.text, html.unescape(srcdoc.group(1))]
    contents = {edition_content(v) for v in views}
    assert len(contents) == 1
    (content,) = contents
    assert (
        "Tide Breathing" in content and "Sponsored" in content and "PLEASE NOTE" in content.upper()
    )


def test_the_dark_preview_turns_the_dark_mode_rules_on() -> None:
    from campaigns.preview import in_dark_mode

    html = "<style>a{color:blue}@media (prefers-color-scheme: dark){a{color:white}}</style>"
    assert in_dark_mode(html) == "<style>a{color:blue}@media all{a{color:white}}</style>"
