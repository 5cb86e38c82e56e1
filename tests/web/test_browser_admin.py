"""The web admin driven in Debian's Chromium the way a creator uses it, against a real
`broadsheet web` process with Redis and a Celery worker.

Every admin page is photographed at 375 and 1280 px (test-artifacts/admin/, the
path is printed) and checked with axe-core (vendored from npm): no serious or
critical violation. Never downloads a browser.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from config.resources import SAMPLES_DIR, SITE_EXAMPLE
from config.runtime import Runtime
from config.settings import load_settings
from content.polling import ingest_file
from db.migrate import upgrade
from db.models import Campaign, CampaignStatus, Subscriber
from subscribers.service import ConsentInfo, add_subscriber
from tests.support.mail import messages
from tests.support.paths import REPO_ROOT
from tests.support.processes import settings_env, start_worker, stop, wait_for
from tests.support.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "admin"
AXE = REPO_ROOT / "tests" / "support" / "vendor" / "axe-core" / "axe.min.js"
SAMPLES = SAMPLES_DIR
WIDTHS = {"phone": (375, 812), "desktop": (1280, 900)}
OWNER, VIEWER = "owner@example.org", "viewer@example.org"
PASSWORD = "browser test password"
AUDIENCE = 40
IMPORTED = 40_000  # rows of the browser's CSV import beyond the five named ones

pytestmark = pytest.mark.browser


@dataclass
class Deployment:
    base: str
    runtime: Runtime
    outbox: Path


def _broadsheet(env: dict[str, str], *args: str, stdin: str = "") -> None:
    command = [str(Path(sys.executable).parent / "broadsheet"), *args]
    done = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def deployment(tmp_path: Path, redis_url: str) -> Iterator[Deployment]:
    """SQLite with posts and confirmed subscribers; `broadsheet web` and a worker."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    port = free_port()
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'admin.db'}",
        redis_url=redis_url,
        mail_backend="outbox",
        outbox_dir=tmp_path / "outbox",
        data_dir=tmp_path / "data",
        site_config=SITE_EXAMPLE,
        base_url=f"http://127.0.0.1:{port}",
        secret_key="browser-admin-secret-0123456789abcdef",
    )
    rt = Runtime(settings)
    upgrade(rt.db.engine)
    for feed in rt.site.feeds:
        ingest_file(
            rt.db, feed.model_copy(update={"hold_minutes": 0}), SAMPLES / f"{feed.name}.xml"
        )
    consent = ConsentInfo(source="import", text_version="1")
    with rt.db.session() as session:
        for i in range(AUDIENCE):
            add_subscriber(
                session, f"reader{i:02}@example.org", ["videos"], consent, confirmed=True
            )
        add_subscriber(session, "nora.erase@example.org", ["videos"], consent, name="Nora")
    env = settings_env(settings, redis_url)
    _broadsheet(env, "admin", "add-user", OWNER, "--role", "owner", "--password-stdin",
                stdin=PASSWORD + "\n")  # fmt: skip
    _broadsheet(env, "admin", "add-user", VIEWER, "--role", "viewer", "--password-stdin",
                stdin=PASSWORD + "\n")  # fmt: skip
    logs = tmp_path / "logs"
    logs.mkdir()
    web = subprocess.Popen(
        [str(Path(sys.executable).parent / "broadsheet"), "web", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=(logs / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker = start_worker(env, logs / "worker.log")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, what="broadsheet web")
        yield Deployment(base, rt, settings.outbox_dir)
    finally:
        stop(web)
        stop(worker)
        rt.db.engine.dispose()


AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target).join(' | ')}`);
}"""


def _audit_page(page: Any, name: str) -> None:
    """Screenshot at both widths, and no serious or critical axe violation at either,
    nor in dark mode (the admin follows the system's colour scheme)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.emulate_media(color_scheme="dark")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    bad = page.evaluate(AXE_RUN)
    assert bad == [], f"{name} in dark mode: {bad}"
    page.emulate_media(color_scheme="light")
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        # The whole page in one viewport: Chromium does not paint frames (the previews)
        # that lie outside the viewport of a full-page screenshot.
        tall = page.evaluate("() => document.documentElement.scrollHeight")
        page.set_viewport_size({"width": width, "height": min(max(tall, height), 6000)})
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"))
        page.set_viewport_size({"width": width, "height": height})
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        bad = page.evaluate(AXE_RUN)
        assert bad == [], f"{name} at {label} width: {bad}"
    page.set_viewport_size({"width": 1280, "height": 900})


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/admin")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def test_a_creator_runs_a_campaign_and_the_list_from_the_browser(deployment: Deployment) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, rt = deployment.base, deployment.runtime
    print(f"\nadmin screenshots: {SCREENSHOTS}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/admin")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        _audit_page(page, "01-login")
        _log_in(page, base, OWNER)
        _audit_page(page, "02-dashboard")
        # Every label of the growth chart is drawn inside the chart, none cut off.
        boxes = page.evaluate(
            "() => [...document.querySelectorAll('svg.chart text')].map(t => {"
            " const b = t.getBBox(); return [b.x, b.x + b.width]; })"
        )
        assert len(boxes) == 4 and all(left >= 0 and right <= 600 for left, right in boxes), boxes

        # Create a campaign from the new posts (all pre-selected).
        page.get_by_role("link", name="Campaigns", exact=True).click()
        _audit_page(page, "03-campaigns-empty")
        page.get_by_role("link", name="New campaign").click()
        expect(page.get_by_role("heading", name="New campaign")).to_be_visible()
        _audit_page(page, "04-campaign-new")
        page.get_by_label("Subject").fill("This fortnight: {{ lead.title }}")
        page.get_by_label("Intro").fill("Two videos and two notes.")
        page.get_by_role("button", name="Create draft").click()
        expect(page.get_by_text("Campaign created as a draft.")).to_be_visible()
        campaign_id = int(re.search(r"/campaigns/(\d+)", page.url).group(1))  # type: ignore[union-attr]

        # Preview as a subscriber, at phone and desktop width and in dark mode.
        page.get_by_label("As subscriber").fill("reader01@example.org")
        page.get_by_role("button", name="Show").click()
        for title in ["Preview at phone width", "Preview at desktop width", "Preview in dark mode"]:
            frame = page.frame_locator(f'iframe[title="{title}"]')
            expect(frame.locator("body")).to_contain_text("Unsubscribe")
        # The email inside each frame sees its true width, on a wide screen and a phone;
        # on the phone the frame's box scrolls sideways and the page itself does not.
        frames = (
            "() => [[...document.querySelectorAll('iframe')].map(f => f.clientWidth),"
            " document.documentElement.scrollWidth]"
        )
        assert page.evaluate(frames) == [[375, 720, 375], 1280]
        page.set_viewport_size({"width": 375, "height": 812})
        assert page.evaluate(frames) == [[375, 720, 375], 375]
        page.set_viewport_size({"width": 1280, "height": 900})
        dark_bg = page.frame_locator('iframe[title="Preview in dark mode"]').locator("body")
        light_bg = page.frame_locator('iframe[title="Preview at phone width"]').locator("body")
        assert dark_bg.evaluate("b => getComputedStyle(b).backgroundColor") != light_bg.evaluate(
            "b => getComputedStyle(b).backgroundColor"
        )
        _audit_page(page, "05-campaign-draft-preview")

        # Test send: one [TEST] copy in the outbox, nothing in the ledger.
        page.get_by_label("Send one [TEST] copy to").fill("me@example.org")
        page.get_by_role("button", name="Send test").click()
        expect(page.get_by_text("A [TEST] copy went to me@example.org.")).to_be_visible()
        [test_mail] = messages(deployment.outbox)
        assert str(test_mail["Subject"]).strip().startswith("[TEST] This fortnight: ")

        # Send now and watch the progress update itself (htmx) until it is done.
        page.get_by_role("button", name="Send campaign").click()
        expect(page.get_by_text("Sending started.")).to_be_visible()
        progress = page.locator("#progress")
        expect(progress).to_contain_text(f"{AUDIENCE} of {AUDIENCE} done", timeout=120_000)
        expect(progress.locator(".badge")).to_have_text("sent", timeout=30_000)
        assert page.url.endswith(f"/admin/campaigns/{campaign_id}?watch=1")  # no reload needed
        _audit_page(page, "06-campaign-sent")
        assert len(messages(deployment.outbox)) == AUDIENCE + 1

        page.get_by_role("link", name="Report").click()
        expect(page.get_by_role("heading", name=f"Report: campaign {campaign_id}")).to_be_visible()
        page.wait_for_function(  # the plot is drawn by matplotlib on request
            "() => { const i = document.querySelector('img.plot');"
            " return i.complete && i.naturalWidth > 0; }",
            timeout=30_000,
        )
        _audit_page(page, "07-campaign-report")
        page.goto(f"{base}/admin/campaigns")
        _audit_page(page, "08-campaigns")

        # Import a CSV with bad rows, larger than the web server keeps in memory (1 MiB):
        # the worker imports it while the page shows rows done / accepted / rejected.
        csv_file = deployment.outbox.parent / "people.csv"
        bulk = "".join(f"bulk{n:06}@example.org,Bulk {n},videos,GB\n" for n in range(IMPORTED))
        csv_file.write_text(
            "email,name,lists,country\n"
            "kim.new@example.org,Kim,videos,GB\n"
            "not-an-address,Bad,videos,GB\n"
            "lee.new@example.org,Lee,nosuchlist,GB\n"
            "max.new@example.org,Max,videos,GBR\n" + bulk + "also bad,,,\n",
            encoding="utf-8",
        )
        assert csv_file.stat().st_size > 1024 * 1024
        page.goto(f"{base}/admin/subscribers")
        _audit_page(page, "09-subscribers")
        page.get_by_role("link", name="Add, import or export").click()
        _audit_page(page, "10-subscribers-add")
        page.get_by_label("CSV file").set_input_files(str(csv_file))
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_role("heading", name="Import of people.csv")).to_be_visible()
        progress = page.locator("#import-progress")
        seen: list[str] = []
        while "done" not in seen:
            seen.append(progress.locator(".badge").inner_text())
            page.wait_for_timeout(100)
            assert len(seen) < 1200, f"the import did not end: {seen[-5:]}"
        assert seen[0] in ("queued", "running"), seen  # the page came before the end
        total = IMPORTED + 5
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(4)  # htmx reloaded the page when the job ended
        stats = [" ".join(x.split()) for x in progress.locator(".stats li").all_inner_texts()]
        assert stats == [f"{total:,} rows done", f"{total - 4:,} accepted", "4 rejected"]
        lines = [int(x) for x in rows.locator("td:first-child").all_inner_texts()]
        assert lines == [3, 4, 5, total + 1]
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile("Download the 4 rejected rows")).click()
        rejected = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
        assert rejected[0] == "line,error,email,name,lists,country"
        assert rejected[1].startswith('3,"invalid email') and rejected[1].endswith(
            ",not-an-address,Bad,videos,GB"
        )
        _audit_page(page, "11-import-result")

        # Find a person and erase them, with the confirmation step.
        page.goto(f"{base}/admin/subscribers")
        page.get_by_label("Address or name starts with").fill("nora")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name="nora.erase@example.org").click()
        expect(page.get_by_role("heading", name="nora.erase@example.org")).to_be_visible()
        _audit_page(page, "12-person")
        page.get_by_role("link", name=re.compile("Erase nora")).click()
        _audit_page(page, "13-erase-confirm")
        page.get_by_label("Type the address to confirm").fill("nora.erase@example.org")
        page.get_by_role("button", name="Erase for good").click()
        expect(page.get_by_text("Erased.")).to_be_visible()

        for path, name in [
            ("/admin/feeds", "14-feeds"),
            ("/admin/sponsors", "15-sponsors"),
            ("/admin/site", "16-site"),
            ("/admin/audit", "17-audit"),
            ("/admin/users", "18-users"),
            ("/admin/account", "19-account"),
        ]:
            page.goto(base + path)
            _audit_page(page, name)
        expect(page.get_by_text("subscriber.erase")).to_have_count(0)  # on /admin/users
        page.goto(f"{base}/admin/audit")
        actions = page.locator("td[data-label=Action]").all_inner_texts()
        assert {"campaign.create", "campaign.test", "campaign.send", "subscriber.erase"} <= set(
            actions
        )
        assert "nora" not in page.content()  # the audit names the erased person by hash
        browser.close()

    with rt.db.session() as session:
        emails = set(session.scalars(select(Subscriber.email)))
    assert "nora.erase@example.org" not in emails
    assert "kim.new@example.org" in emails and "max.new@example.org" not in emails


def test_a_viewer_reads_but_the_server_refuses_their_send(deployment: Deployment) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, rt = deployment.base, deployment.runtime
    with rt.db.session() as session:
        session.add(
            Campaign(
                subject="Draft",
                subject_template="Draft",
                status=CampaignStatus.draft,
                list_slugs=["videos"],
            )
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 375, "height": 812})
        _log_in(page, base, VIEWER)
        # Keyboard first: Tab reaches the skip link (visibly focused), Enter jumps to main.
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => [document.activeElement.textContent,"
            " getComputedStyle(document.activeElement).outlineStyle]"
        )
        assert focused == ["Skip to content", "solid"]
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"
        page.goto(f"{base}/admin/campaigns/1")
        expect(page.get_by_role("heading", name="Campaign 1: Draft")).to_be_visible()
        expect(page.get_by_role("button", name="Send campaign")).to_have_count(0)
        # Not just hidden: the server refuses the POST a viewer forges with a valid token.
        token = page.locator("form[action='/admin/logout'] input[name=csrf_token]").input_value()
        response = page.request.post(
            f"{base}/admin/campaigns/1/send", form={"csrf_token": token, "when": "now"}
        )
        assert response.status == 403
        assert "cannot do this" in response.text()
        browser.close()
    with rt.db.session() as session:
        assert session.get(Campaign, 1).status is CampaignStatus.draft  # type: ignore[union-attr]
    assert messages(deployment.outbox) == []


def test_a_form_post_without_its_csrf_token_is_refused(deployment: Deployment) -> None:
    base, rt = deployment.base, deployment.runtime
    with rt.db.session() as session:
        session.add(
            Campaign(
                subject="Draft",
                subject_template="Draft",
                status=CampaignStatus.draft,
                list_slugs=["videos"],
            )
        )
    with httpx.Client(base_url=base) as client:
        login_page = client.get("/admin/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text).group(1)  # type: ignore[union-attr]
        no_token = client.post("/admin/login", data={"email": OWNER, "password": PASSWORD})
        assert no_token.status_code == 403
        logged_in = client.post(
            "/admin/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": token}
        )
        assert logged_in.status_code == 303
        assert client.get("/admin").status_code == 200
        forged = client.post("/admin/campaigns/1/cancel", data={})
        assert forged.status_code == 403
        wrong = client.post("/admin/campaigns/1/cancel", data={"csrf_token": token})
        assert wrong.status_code == 403  # the token from before login is void after it
    with rt.db.session() as session:
        assert session.get(Campaign, 1).status is CampaignStatus.draft  # type: ignore[union-attr]
