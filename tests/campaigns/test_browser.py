"""The edition in a real browser (Debian's Chromium): phone and desktop widths, with screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns.compose import choose_sponsor, compose_edition
from campaigns.render import personal_links
from delivery.placeholders import fill
from tests.campaigns import sample_edition

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Thumbnails live on hosts the test cannot reach; the browser gets this picture instead.
THUMBNAIL = b"""<svg xmlns="http://www.w3.org/2000/svg" width="480" height="270"
 viewBox="0 0 480 270"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="#2f6f8f"/><stop offset="1" stop-color="#9fc6b8"/>
</linearGradient></defs>
<rect width="480" height="270" fill="url(#g)"/>
<circle cx="240" cy="135" r="34" fill="#ffffff" fill-opacity="0.85"/>
<path d="M228 115 L258 135 L228 155 Z" fill="#2f6f8f"/></svg>"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def edition_html() -> str:
    site = sample_edition.site()
    campaign = sample_edition.campaign()
    sponsor = choose_sponsor(site, campaign, sample_edition.DAY)
    edition = compose_edition(
        site, campaign, sample_edition.posts(), sponsor=sponsor, links=personal_links()
    )
    return fill(
        edition.html,
        {
            "unsubscribe_url": "https://notes.tidewater.example/unsubscribe/t0k",
            "preferences_url": "https://notes.tidewater.example/preferences/t0k",
            "sponsor_url": "https://notes.tidewater.example/r/t0k",
            "crisis_medical": "In the US, call or text 988.",
        },
    )


@pytest.mark.parametrize(
    ("label", "width", "scheme"),
    [("phone", 375, "light"), ("desktop", 1024, "light"), ("phone-dark", 375, "dark")],
)
def test_sponsor_label_and_disclaimer_are_visible(  # type: ignore[no-untyped-def]
    browser, label: str, width: int, scheme: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page.route(
        "https://img.video.example/**",
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=THUMBNAIL),
    )
    page.set_content(edition_html(), wait_until="load")
    shot = ARTIFACTS / f"edition-{label}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)

    sponsored = page.get_by_text("Sponsored", exact=True)
    assert sponsored.is_visible()
    assert page.get_by_text("Saltmarsh Tea", exact=True).is_visible()
    assert page.get_by_text(
        "Tidewater Notes is general education, not medical advice."
    ).is_visible()
    assert page.get_by_text("In the US, call or text 988.").is_visible()
    # Nothing spills sideways: the email fits the viewport at phone width too.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width
    assert shot.stat().st_size > 10_000
    page.close()
