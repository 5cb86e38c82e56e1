"""/docs works offline and the public schema leaves the admin API out."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from config.runtime import Runtime
from tests.web.test_browser_subscribe import CHROMIUM, CHROMIUM_ARGS, server  # noqa: F401
from web.app import create_app


def test_the_public_schema_does_not_reveal_the_admin_api(runtime: Runtime) -> None:
    schema = TestClient(create_app(runtime)).get("/openapi.json").json()
    assert "/archive/{campaign_id}" in schema["paths"]
    assert not [p for p in schema["paths"] if p.startswith("/api")]
    text = str(schema)
    for admin_only in ("CampaignIn", "CampaignOut", "ProgressOut", "HTTPBearer", "erase"):
        assert admin_only not in text


def test_the_full_schema_needs_the_admin_token(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    assert client.get("/api/openapi.json").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/api/openapi.json", headers=wrong).status_code == 401
    token = {"Authorization": f"Bearer {runtime.settings.admin_token}"}
    schema = client.get("/api/openapi.json", headers=token).json()
    assert "/api/campaigns" in schema["paths"] and "/archive" in schema["paths"]
    assert "CampaignIn" in schema["components"]["schemas"]


def test_the_docs_page_loads_every_asset_from_this_app(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/"), f"{url} is not served by this app"
        assert client.get(url).status_code == 200, url
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text


@pytest.mark.browser
def test_the_docs_page_renders_with_no_internet(server: Runtime) -> None:  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import Route, expect, sync_playwright

    base = server.base_url
    refused: list[str] = []

    def only_this_app(route: Route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:  # as if offline: nothing beyond this app answers
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route("**/*", only_this_app)
        page.goto(f"{base}/docs")
        expect(
            page.locator(".opblock-summary-path", has_text="/archive/{campaign_id}")
        ).to_be_visible(timeout=15_000)
        assert page.locator(".opblock-summary-path", has_text="/api/").count() == 0
        browser.close()
    assert refused == []
