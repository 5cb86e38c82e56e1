"""GET /r/{token}: counts sponsor clicks and redirects only to the configured sponsor URL."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.runtime import Runtime
from db.models import SponsorClick
from subscribers.tokens import Purpose, make_token
from tests.campaigns.sample_edition import evergreen_site
from tests.support.editions import (
    LINKS,
    add_people,
    deliveries,
    mail_parts,
    new_campaign,
    send,
    store_posts,
)
from web.app import create_app


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    runtime.__dict__["site"] = evergreen_site()
    return TestClient(create_app(runtime), follow_redirects=False)


def clicks(runtime: Runtime) -> list[tuple[str, int, int | None]]:
    with runtime.db.session() as session:
        rows = session.scalars(select(SponsorClick).order_by(SponsorClick.id)).all()
        return [(c.sponsor_name, c.campaign_id, c.delivery_id) for c in rows]


def test_a_valid_token_counts_the_click_and_redirects_with_utm(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.get(urlsplit(LINKS.sponsor_url(42, 7, "Saltmarsh Tea")).path)
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "saltmarsh-tea.example",
        "/evening",
    )
    query = parse_qs(target.query)
    assert query["ref"] == ["tidewater"]  # the sponsor's own parameters survive
    assert query["utm_source"] == ["broadsheet"] and query["utm_campaign"] == ["c42"]
    assert clicks(runtime) == [("Saltmarsh Tea", 42, 7)]


def test_request_parameters_never_choose_the_target(client: TestClient) -> None:
    path = urlsplit(LINKS.sponsor_url(42, 7, "Harbour Lamps")).path
    response = client.get(path, params={"url": "https://evil.example/", "next": "//evil.example"})
    assert response.headers["location"].startswith("https://harbour-lamps.example/?")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        make_token(
            "another-secret-key-0123456789abcdef", Purpose.redirect, [1, 2, "Harbour Lamps"]
        ),
        make_token(LINKS.secret_key, Purpose.unsubscribe, [1, 2, "Harbour Lamps"]),
        make_token(LINKS.secret_key, Purpose.redirect, [1, 2, "Unknown Sponsor Ltd"]),
        make_token(LINKS.secret_key, Purpose.redirect, ["1", 2, "Harbour Lamps"]),
        make_token(LINKS.secret_key, Purpose.redirect, {"url": "https://evil.example/"}),
    ],
    ids=["garbage", "other-key", "other-purpose", "unknown-sponsor", "bad-shape", "dict"],
)
def test_forged_or_unknown_links_get_a_404_page(
    client: TestClient, runtime: Runtime, token: str
) -> None:
    response = client.get(f"/r/{token}")
    assert response.status_code == 404
    assert "This link does not work" in response.text
    assert "location" not in response.headers
    assert clicks(runtime) == []


def test_the_sponsor_link_in_a_sent_email_is_tracked_per_delivery(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    site = runtime.site
    store_posts(runtime.db)
    add_people(runtime.db, [("reader@example.org", ["videos"], "US")])
    campaign_id = new_campaign(runtime.db, site)
    send(runtime.db, site, campaign_id, tmp_path)
    delivery = deliveries(runtime.db, campaign_id)["reader@example.org"]

    mail = mail_parts(tmp_path, "reader@example.org")
    match = re.search(r"http://testserver(/r/[A-Za-z0-9_.\-]+)", mail)
    assert match is not None
    response = client.get(match.group(1))
    assert response.status_code == 302
    assert clicks(runtime) == [(delivery.sponsor_name, campaign_id, delivery.id)]
    assert deliveries(runtime.db, campaign_id)["reader@example.org"].clicked
