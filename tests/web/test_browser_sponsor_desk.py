"""The sponsor desk driven in Chromium as a creator and a sponsor use it (issue 17's
acceptance): placement and slot, booking, intake link, creative from the sponsor in a
second browser context, a change asked for and made, approval, a campaign on that
day carrying the block labelled "Sponsored", clicks through /r/ counted, and the
sponsor's report link; an altered or expired link is refused. Every sponsor-facing
page passes the admin's axe-core check (light and dark, phone and desktop).
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from db.models import utcnow
from subscribers.tokens import Purpose
from tests.support.mail import messages
from tests.web.test_browser_admin import (
    AUDIENCE,
    CHROMIUM,
    CHROMIUM_ARGS,
    OWNER,
    SCREENSHOTS,
    Deployment,
    _audit_page,
    _log_in,
    deployment,  # noqa: F401 - the fixture: broadsheet web + a worker on SQLite and Redis
)

pytestmark = pytest.mark.browser

SECRET = "browser-admin-secret-0123456789abcdef"  # the deployment's SECRET_KEY
TARGET = "https://foldmaps.example/walk"


def _expired(purpose: Purpose, booking_id: int, days: int) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 24 * 3600

    return URLSafeTimedSerializer(SECRET, salt=purpose.value, signer=Past).dumps([booking_id])


def _altered(url: str) -> str:
    head, token = url.rsplit("/", 1)
    middle = len(token) // 2
    swapped = "A" if token[middle] != "A" else "B"
    return f"{head}/{token[:middle]}{swapped}{token[middle + 1 :]}"


def _fill_creative(page: Any, *, text: str, url: str = TARGET) -> None:
    page.get_by_label("Headline").fill("Maps that fold back")
    page.get_by_label(re.compile(r"^Text")).fill(text)
    page.get_by_label("Link", exact=True).fill(url)
    page.get_by_label("Call to action").fill("See the maps")
    page.get_by_label("Image URL").fill("https://foldmaps.example/logo.png")
    page.get_by_role("button", name="Send for review").click()


def test_a_creator_sells_a_slot_and_the_sponsor_sees_its_report(deployment: Deployment) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    base, rt = deployment.base, deployment.runtime
    today = utcnow().astimezone(rt.site.newsletter.tz).date()
    print(f"\nsponsor desk screenshots: {SCREENSHOTS}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        creator = browser.new_page(viewport={"width": 1280, "height": 900})
        _log_in(creator, base, OWNER)

        # The creator sets up inventory: a sponsor, a placement, a slot today on "videos".
        creator.get_by_role("link", name="Sponsors", exact=True).click()
        creator.get_by_role("link", name="Sponsor desk").click()
        expect(creator.get_by_role("heading", name="Sponsor desk")).to_be_visible()
        creator.get_by_label("Sponsor name").fill("Foldmaps")
        creator.get_by_role("button", name="Add sponsor").click()
        expect(creator.get_by_text("Added sponsor Foldmaps.")).to_be_visible()
        creator.get_by_label("Placement name").fill("Top of the video email")
        creator.get_by_label("Short name").fill("video-top")
        creator.get_by_label("Where in the edition").select_option("after_first")
        creator.get_by_role("button", name="Add placement").click()
        expect(creator.get_by_text("Added placement video-top.")).to_be_visible()
        _audit_page(creator, "sponsor-01-desk")

        creator.get_by_role("link", name="Calendar of slots").click()
        creator.get_by_label("Placement", exact=True).select_option(label="Top of the video email")
        creator.get_by_label("Day").fill(today.isoformat())
        creator.get_by_label("List", exact=True).select_option("videos")
        creator.get_by_role("button", name="Add slot").click()
        expect(creator.get_by_text(re.compile(r"Added slot \d+\."))).to_be_visible()
        slot_id = int(re.search(r"Added slot (\d+)", creator.content()).group(1))  # type: ignore[union-attr]
        expect(creator.locator("table.calendar")).to_contain_text("video-top · videos: free")
        _audit_page(creator, "sponsor-02-calendar")

        # Book it: the slot is now sold, on the calendar too.
        creator.get_by_label(f"Sponsor for slot {slot_id}").select_option(label="Foldmaps")
        creator.get_by_role("button", name=f"Book slot {slot_id}").click()
        expect(creator.get_by_text(re.compile(r"Booked: booking \d+ is proposed"))).to_be_visible()
        booking_url = creator.url
        booking_id = int(booking_url.rsplit("/", 1)[1])
        creator.get_by_role("button", name="Ask the sponsor for creative").click()
        intake_url = creator.get_by_label("Intake link", exact=True).input_value()
        assert intake_url.startswith(f"{base}/sponsor/intake/")
        _audit_page(creator, "sponsor-03-booking-awaiting")

        # The sponsor, in a browser context of its own (no admin cookie), sends copy.
        sponsor_context = browser.new_context(viewport={"width": 1280, "height": 900})
        sponsor = sponsor_context.new_page()
        sponsor.goto(intake_url)
        expect(
            sponsor.get_by_role("heading", name=re.compile("Your sponsor block"))
        ).to_be_visible()
        _audit_page(sponsor, "sponsor-04-intake")
        _fill_creative(sponsor, text="Paper maps for walkers.", url="http://foldmaps.example/")
        expect(sponsor.get_by_text("Link must start with https://")).to_be_visible()
        _audit_page(sponsor, "sponsor-05-intake-error")
        _fill_creative(sponsor, text="Paper maps for walkers.")
        expect(sponsor.get_by_text("Thank you: version 1 was received.")).to_be_visible()

        # The creator asks for a change; the sponsor sees the comment and resubmits.
        creator.goto(booking_url)
        expect(creator.get_by_role("heading", name=re.compile("Version 1"))).to_be_visible()
        creator.get_by_label("What should change").fill("Say that they are waterproof.")
        creator.get_by_role("button", name="Ask for changes").click()
        expect(creator.get_by_role("status")).to_contain_text("Changes asked for")
        sponsor.goto(intake_url)
        expect(sponsor.get_by_text("Say that they are waterproof.")).to_be_visible()
        expect(sponsor.get_by_label(re.compile(r"^Text"))).to_have_value("Paper maps for walkers.")
        _fill_creative(sponsor, text="Waterproof paper maps for walkers.")
        expect(sponsor.get_by_text("Thank you: version 2 was received.")).to_be_visible()

        creator.goto(booking_url)
        creator.get_by_role("button", name="Approve version 2").click()
        expect(creator.get_by_role("status")).to_contain_text("Creative approved")
        _audit_page(creator, "sponsor-06-booking-approved")

        # A campaign today on "videos" carries the block, labelled "Sponsored".
        creator.goto(f"{base}/admin/campaigns/new")
        creator.get_by_role("button", name="Create draft").click()
        expect(creator.get_by_text("Campaign created as a draft.")).to_be_visible()
        creator.get_by_role("button", name="Send campaign").click()
        progress = creator.locator("#progress")
        expect(progress.locator(".badge")).to_have_text("sent", timeout=120_000)
        sent = messages(deployment.outbox)
        assert len(sent) == AUDIENCE
        for message in sent:
            html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
            text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
            assert ">Sponsored</p>" in html and ">Foldmaps</p>" in html
            assert "SPONSORED: Foldmaps" in text and "Waterproof paper maps" in text

        # Three readers click the sponsor's link, one of them twice: 3 clicks, 3 readers.
        clicked = 0
        with httpx.Client(follow_redirects=False) as client:
            for message in sent[:3]:
                html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
                [link] = set(re.findall(rf'href="({re.escape(base)}/r/[^"]+)"', html))
                for _ in range(2 if clicked == 0 else 1):
                    answer = client.get(link)
                    assert answer.status_code == 302
                    assert answer.headers["location"].startswith(TARGET + "?utm_")
                clicked += 1

        creator.goto(booking_url)
        stats = creator.locator("ul.stats")
        expect(stats).to_contain_text(f"{AUDIENCE}impressions")
        expect(stats).to_contain_text("3clicks")
        report_url = creator.get_by_label("Report link for the sponsor (180 days)").input_value()
        _audit_page(creator, "sponsor-07-booking-report")

        # The sponsor opens its report: the numbers, the plot, the CSV; nobody's address.
        sponsor.goto(report_url)
        expect(sponsor.get_by_role("heading", name="Report for Foldmaps")).to_be_visible()
        numbers = sponsor.locator("ul.stats").inner_text()
        assert re.sub(r"\s+", " ", numbers).split(" ")[:8] == [
            str(AUDIENCE), "impressions", "3", "clicks", "3", "unique", "clicks", "7.5%",
        ]  # fmt: skip
        expect(sponsor.locator("svg.chart")).to_have_count(1)
        assert "@example.org" not in sponsor.content()
        _audit_page(sponsor, "sponsor-08-report")
        csv_answer = sponsor.request.get(f"{report_url}/report.csv")
        assert csv_answer.status == 200
        rows = csv_answer.text().splitlines()
        assert rows[0].startswith("campaign_id,subject,sent_on,impressions,clicks")
        assert rows[1].split(",")[-4:] == [str(AUDIENCE), "3", "3", "0.0750"]
        assert "@" not in csv_answer.text()

        # An altered or expired link is refused, and shows why.
        old_report = _expired(Purpose.sponsor_report, booking_id, 181)
        old_intake = _expired(Purpose.sponsor_intake, booking_id, 15)
        for refused, reason in [
            (_altered(report_url), "not valid"),
            (f"{base}/sponsor/report/{old_report}", "expired"),
            (_altered(intake_url), "not valid"),
            (f"{base}/sponsor/intake/{old_intake}", "expired"),
            (f"{base}/sponsor/report/{intake_url.rsplit('/', 1)[1]}", "not valid"),
        ]:
            answer = sponsor.goto(refused)
            assert answer is not None and answer.status == 403
            expect(sponsor.get_by_role("heading", name="This link does not work")).to_be_visible()
            expect(sponsor.get_by_text(re.compile(reason))).to_be_visible()
            assert "Foldmaps" not in sponsor.content()
        _audit_page(sponsor, "sponsor-09-refused")
        sponsor_context.close()
        browser.close()
