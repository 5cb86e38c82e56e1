"""The whole subscriber journey in Debian's Chromium against a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from config.resources import SITE_EXAMPLE
from config.runtime import Runtime, set_runtime
from config.settings import load_settings
from db.migrate import upgrade
from db.models import Subscriber, SubscriberStatus, Suppression
from tests.support.mail import link, messages
from tests.support.paths import REPO_ROOT
from tests.support.processes import wait_for
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Runtime]:
    """uvicorn on a free loopback port, SQLite and the outbox in tmp_path, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'browser.db'}",
        redis_url=None,
        mail_backend="outbox",
        outbox_dir=tmp_path / "outbox",
        site_config=SITE_EXAMPLE,
        base_url=f"http://127.0.0.1:{port}",
        secret_key="browser-test-secret-0123456789abcdef",
    )
    rt = Runtime(settings)
    upgrade(rt.db.engine)
    set_runtime(rt)
    config = uvicorn.Config(create_app(rt), log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield rt
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()
    set_runtime(None)
    rt.db.engine.dispose()


@pytest.mark.browser
def test_subscribe_confirm_change_preferences_and_unsubscribe(server: Runtime) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    base = server.base_url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(f"{base}/")
        # Keyboard focus is visible: past the masthead link, Tab reaches the address field
        # and it shows an outline.
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement;"
            " return [el.id, getComputedStyle(el).outlineStyle]; }"
        )
        assert focused == ["email", "solid"]
        page.get_by_label("Email address").fill("Mira.Browser@example.org")
        page.get_by_label("Name").fill("Mira")
        page.get_by_label("Weekly digest").check()
        page.screenshot(path=str(ARTIFACTS / "subscribe-1-form.png"), full_page=True)
        # Keyboard only: tab to the button and press Enter.
        page.get_by_role("button", name="Subscribe").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "subscribe-2-check-inbox.png"), full_page=True)

        # The confirmation is sent after the response, as a task.
        outbox = server.settings.outbox_dir
        wait_for(lambda: len(messages(outbox)) == 1, timeout=20, what="the confirmation email")
        [mail] = messages(outbox)
        html_part = mail.get_body(("html",))
        assert html_part is not None
        page.set_content(html_part.get_content())  # type: ignore[attr-defined]
        page.screenshot(path=str(ARTIFACTS / "subscribe-2b-confirmation-email.png"), full_page=True)
        page.goto(link(mail, "/confirm/"))
        page.screenshot(path=str(ARTIFACTS / "subscribe-2c-confirm-button.png"), full_page=True)
        page.get_by_role("button", name="Confirm my subscription").click()
        expect(page.get_by_role("heading", name="You're subscribed")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "subscribe-3-confirmed.png"), full_page=True)

        page.get_by_role("link", name="Choose your preferences").click()
        expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
        page.get_by_label("Every new video").uncheck()
        page.get_by_label("At most once a week").check()
        page.get_by_label("Time zone").select_option("Europe/Dublin")
        page.get_by_label("Country").fill("ie")
        page.get_by_role("button", name="Save preferences").click()
        expect(page.get_by_text("Saved.")).to_be_visible()
        expect(page.get_by_label("Time zone")).to_have_value("Europe/Dublin")
        page.screenshot(path=str(ARTIFACTS / "subscribe-4-preferences.png"), full_page=True)

        with server.db.session() as session:
            person = session.scalars(select(Subscriber)).one()
            assert person.status is SubscriberStatus.confirmed
            assert (person.cadence, person.timezone, person.country) == (
                "weekly",
                "Europe/Dublin",
                "IE",
            )
        page.get_by_role("button", name="Unsubscribe from everything").click()
        expect(page.get_by_role("heading", name="You're unsubscribed")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "subscribe-5-unsubscribed.png"), full_page=True)

        # The link from a campaign email: a GET shows the button and changes nothing.
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(server.links.unsubscribe_url(person.id, None))
        expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "subscribe-6-unsubscribe-page.png"), full_page=True)
        browser.close()

    with server.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
        assert person.status is SubscriberStatus.unsubscribed
        assert session.get(Suppression, person.email_hash) is not None
