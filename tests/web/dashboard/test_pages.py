"""The admin's pages and actions in-process: what each shows and what each POST does."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from campaigns.schedules import next_firing
from config.runtime import Runtime
from config.site import FeedConfig
from content.polling import ingest_file
from db.models import AdminAudit, AdminFigure, Campaign, CampaignStatus, Subscriber
from subscribers.import_jobs import create_job
from subscribers.importing import UNCLOSED_QUOTE
from subscribers.service import ConsentInfo, add_subscriber
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Item, rss
from tests.support.mail import messages

Login = Callable[[str], tuple[TestClient, str]]
SAMPLES = Path(__file__).resolve().parents[3] / "content" / "samples"
CONSENT = ConsentInfo(source="form", text_version="1", ip="198.51.100.4")


def _posts(rt: Runtime) -> None:
    for feed in rt.site.feeds:
        ingest_file(
            rt.db, feed.model_copy(update={"hold_minutes": 0}), SAMPLES / f"{feed.name}.xml"
        )


def _draft(rt: Runtime, post_ids: list[int] | None = None) -> int:
    with rt.db.session() as session:
        campaign = Campaign(
            subject="Hello",
            subject_template="Hello",
            status=CampaignStatus.draft,
            list_slugs=["videos"],
            post_ids=post_ids or [],
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def _actions(rt: Runtime) -> list[str]:
    with rt.db.session() as session:
        return list(session.scalars(select(AdminAudit.action).order_by(AdminAudit.id)))


def test_creating_a_campaign_needs_a_post_and_records_who(as_role: Login, runtime: Runtime) -> None:
    _posts(runtime)
    client, token = as_role("editor")
    form = client.get("/admin/campaigns/new").text
    assert form.count('name="post_ids"') == 4  # the sample feeds' posts, all offered
    empty = client.post("/admin/campaigns", data={"csrf_token": token, "lists": ["videos"]})
    assert empty.status_code == 422 and "Choose at least one post." in empty.text
    with runtime.db.session() as session:
        assert session.scalars(select(Campaign)).all() == []
    made = client.post(
        "/admin/campaigns",
        data={"csrf_token": token, "lists": ["videos"], "post_ids": ["1", "2"], "subject": "Two"},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/admin/campaigns/1"
    with runtime.db.session() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert (campaign.subject, campaign.post_ids) == ("Two", [1, 2])
    assert _actions(runtime)[-1] == "campaign.create"


def test_the_preview_frame_is_sandboxed_and_has_a_dark_version(
    as_role: Login, runtime: Runtime
) -> None:
    _posts(runtime)
    client, token = as_role("editor")
    client.post(
        "/admin/campaigns", data={"csrf_token": token, "lists": ["videos"], "post_ids": ["1"]}
    )
    light = client.get("/admin/campaigns/1/preview.html")
    dark = client.get("/admin/campaigns/1/preview.html?dark=1")
    assert light.status_code == 200
    assert light.headers["content-security-policy"].startswith("sandbox")
    assert "prefers-color-scheme: dark" in light.text
    assert "prefers-color-scheme" not in dark.text and "@media all" in dark.text
    unknown = client.get("/admin/campaigns/1/preview.html?as=nobody@example.org")
    assert unknown.status_code == 404 and "no subscriber" in unknown.text
    viewer, _ = as_role("viewer")
    assert viewer.get("/admin/campaigns/1/preview.html").status_code == 403


def test_send_at_a_time_and_at_a_local_time_schedule_the_campaign(
    as_role: Login, runtime: Runtime
) -> None:
    _posts(runtime)  # a campaign without posts cannot be scheduled
    first, second = _draft(runtime, [1]), _draft(runtime, [1])
    client, token = as_role("owner")
    client.post(
        f"/admin/campaigns/{first}/send",
        data={"csrf_token": token, "when": "at", "at": "2031-05-04T09:30"},
    )
    bad = client.post(
        f"/admin/campaigns/{second}/send", data={"csrf_token": token, "when": "local"}
    )
    assert "Not sent: give the local time" in bad.text
    with runtime.db.session() as session:
        campaign = session.get(Campaign, first)
        assert campaign is not None and campaign.status is CampaignStatus.scheduled
        tz = runtime.site.newsletter.tz
        assert campaign.send_at == dt.datetime(2031, 5, 4, 9, 30, tzinfo=tz)
        assert session.get(Campaign, second).status is CampaignStatus.draft  # type: ignore[union-attr]
    page = client.get("/admin").text
    assert f"#{first} Hello" in page  # among the next sends


def test_pause_and_cancel_go_through_the_life_cycle_rules(as_role: Login, runtime: Runtime) -> None:
    campaign_id = _draft(runtime)
    client, token = as_role("owner")
    paused = client.post(f"/admin/campaigns/{campaign_id}/pause", data={"csrf_token": token})
    assert "Could not pause" in paused.text  # a draft is not sending
    cancelled = client.post(f"/admin/campaigns/{campaign_id}/cancel", data={"csrf_token": token})
    assert "Cancelled." in cancelled.text
    with runtime.db.session() as session:
        assert session.get(Campaign, campaign_id).status is CampaignStatus.cancelled  # type: ignore[union-attr]
    assert _actions(runtime)[-1] == "campaign.cancel"


def _buttons(html: str, campaign_id: int) -> list[str]:
    return sorted(
        a
        for a in ("pause", "resume", "cancel")
        if f'action="/admin/campaigns/{campaign_id}/{a}"' in html
    )


def test_a_campaign_page_offers_only_what_its_state_allows_and_the_server_says_why_not(
    as_role: Login, runtime: Runtime
) -> None:
    campaign_id = _draft(runtime)
    client, token = as_role("owner")
    expected = {
        CampaignStatus.draft: ["cancel"],
        CampaignStatus.sending: ["cancel", "pause"],
        CampaignStatus.paused: ["cancel", "resume"],
        CampaignStatus.sent: [],
        CampaignStatus.cancelled: [],
    }
    for status, buttons in expected.items():
        with runtime.db.session() as session:
            session.get(Campaign, campaign_id).status = status  # type: ignore[union-attr]
        shown = client.get(f"/admin/campaigns/{campaign_id}").text
        assert _buttons(shown, campaign_id) == buttons, status
    assert "This campaign is cancelled: there is nothing left to do with it." in shown
    with runtime.db.session() as session:
        session.get(Campaign, campaign_id).status = CampaignStatus.sent  # type: ignore[union-attr]
    for action in ("pause", "resume", "cancel"):
        refused = client.post(
            f"/admin/campaigns/{campaign_id}/{action}", data={"csrf_token": token}
        )
        assert f"Could not {action}: campaign {campaign_id} is sent" in refused.text
    with runtime.db.session() as session:
        assert session.get(Campaign, campaign_id).status is CampaignStatus.sent  # type: ignore[union-attr]
    assert not {"campaign.pause", "campaign.resume", "campaign.cancel"} & set(_actions(runtime))


def test_a_finished_campaigns_counts_are_kept_and_shown_as_of_their_time(
    as_role: Login, runtime: Runtime
) -> None:
    """Counted once and stored; a later page reads the stored figure, not the ledger."""
    _posts(runtime)
    with runtime.db.session() as session:
        for i in range(3):
            add_subscriber(session, f"r{i}@example.org", ["videos"], CONSENT, confirmed=True)
    client, token = as_role("owner")
    client.post(
        "/admin/campaigns", data={"csrf_token": token, "lists": ["videos"], "post_ids": ["1"]}
    )
    client.post("/admin/campaigns/1/send", data={"csrf_token": token, "when": "now"})
    with runtime.db.session() as session:  # the campaign's page (after send) kept them
        session.execute(delete(AdminFigure))
    # The list never scans a ledger in the request: the first view counts afterwards.
    assert "counting…" in client.get("/admin/campaigns").text
    listing = client.get("/admin/campaigns").text
    assert '<td data-label="Sent" class="num">3</td>' in listing and "counting…" not in listing
    with runtime.db.session() as session:
        kept = session.get(AdminFigure, "counts:1")
        assert kept is not None and kept.data["sent"] == 3
        kept.data = {**kept.data, "sent": 2, "failed": 1}  # what an older count said
    assert '<td data-label="Sent" class="num">2</td>' in client.get("/admin/campaigns").text
    with runtime.db.session() as session:
        stale = session.get(AdminFigure, "counts:1")
        stale.computed_at -= dt.timedelta(hours=1)  # type: ignore[union-attr]
    # A stale figure is still shown at once, and counted again after the response.
    assert '<td data-label="Sent" class="num">2</td>' in client.get("/admin/campaigns").text
    assert '<td data-label="Sent" class="num">3</td>' in client.get("/admin/campaigns").text
    page = client.get("/admin/campaigns/1").text
    assert "Counted " in page and "hx-trigger" not in page
    report = client.get("/admin/campaigns/1/report").text
    assert "Figures as of " in report
    with runtime.db.session() as session:
        assert session.get(AdminFigure, "report:1") is not None


def test_the_dashboard_lists_each_schedules_next_send_in_the_sites_time_zone(
    as_role: Login, runtime: Runtime
) -> None:
    site = runtime.site
    tz = site.newsletter.tz
    [weekly] = [s for s in site.schedules if s.kind == "digest"]
    assert weekly.cron is not None
    expected = next_firing(weekly.cron, dt.datetime.now(dt.UTC), tz).astimezone(tz)
    client, _ = as_role("viewer")
    shown = client.get("/admin").text
    assert f"Times in the site's zone, {tz}." in shown
    assert (
        f"Schedule <strong>{weekly.name}</strong> next at "
        f'<time datetime="{expected.astimezone(dt.UTC).isoformat()}">'
        f"{expected:%Y-%m-%d %H:%M}</time>"
    ) in shown
    assert "cron <code>" not in shown


def test_a_watched_progress_reloads_the_page_when_the_send_ends(
    as_role: Login, runtime: Runtime
) -> None:
    campaign_id = _draft(runtime)
    client, _ = as_role("viewer")
    polling = client.get(f"/admin/campaigns/{campaign_id}/progress?watch=1")
    assert 'hx-trigger="every 2s"' in polling.text and "HX-Refresh" not in polling.headers
    with runtime.db.session() as session:
        session.get(Campaign, campaign_id).status = CampaignStatus.sent  # type: ignore[union-attr]
    done = client.get(f"/admin/campaigns/{campaign_id}/progress?watch=1")
    assert done.headers["HX-Refresh"] == "true" and "hx-trigger" not in done.text
    unwatched = client.get(f"/admin/campaigns/{campaign_id}")
    assert "hx-trigger" not in unwatched.text


def test_a_test_send_mails_one_copy(as_role: Login, runtime: Runtime) -> None:
    _posts(runtime)
    client, token = as_role("editor")
    client.post(
        "/admin/campaigns", data={"csrf_token": token, "lists": ["videos"], "post_ids": ["1"]}
    )
    shown = client.post(
        "/admin/campaigns/1/test", data={"csrf_token": token, "to": "me@example.org"}
    )
    assert "A [TEST] copy went to me@example.org." in shown.text
    [mail] = messages(runtime.settings.outbox_dir)
    assert str(mail["Subject"]).strip().startswith("[TEST] ")


def test_an_import_runs_as_a_job_whose_page_lists_bad_rows_and_offers_them(
    as_role: Login, runtime: Runtime
) -> None:
    client, token = as_role("owner")
    good = 'email,lists\nok@example.org,videos\nbroken,videos\n"open,videos\n'
    started = client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("people.csv", good.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert started.status_code == 303
    assert started.headers["location"] == "/admin/subscribers/import/1"
    # TestClient has run the response's background step (embedded mode: the task, inline).
    shown = client.get("/admin/subscribers/import/1")
    assert "Import started." in shown.text
    assert '<span class="badge">done</span>' in shown.text
    assert "<strong>3</strong>rows done" in shown.text
    assert "<strong>1</strong>accepted" in shown.text
    assert "<strong>2</strong>rejected" in shown.text
    assert '<td class="num">3</td><td>invalid email' in shown.text
    assert '<td class="num">4</td><td>unreadable CSV' in shown.text
    assert 'http-equiv="refresh"' not in shown.text and "hx-get" not in shown.text
    rejected = client.get("/admin/subscribers/import/1/rejected.csv")
    assert rejected.headers["content-type"].startswith("text/csv")
    assert rejected.text.splitlines()[0] == "line,error,email,lists"
    assert rejected.text.splitlines()[2] == '4,"' + UNCLOSED_QUOTE + '","open,videos'
    assert "import-1-rejected.csv" in rejected.headers["content-disposition"]
    assert not (runtime.settings.imports_dir / "1.csv").exists()  # the upload is gone
    assert "subscribers.import" in _actions(runtime)


def test_a_file_without_an_email_column_ends_its_job_with_one_line(
    as_role: Login, runtime: Runtime
) -> None:
    client, token = as_role("owner")
    client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("wrong.csv", b"name\nAda\n", "text/csv")},
    )
    shown = client.get("/admin/subscribers/import/1")
    assert '<span class="badge">failed</span>' in shown.text
    assert "The import stopped: the header row has no &#39;email&#39; column" in shown.text


def test_only_an_owner_imports_or_sees_an_import(as_role: Login, runtime: Runtime) -> None:
    owner, token = as_role("owner")
    owner.post(
        "/admin/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("people.csv", b"email\nx@example.org\n", "text/csv")},
    )
    editor, editor_token = as_role("editor")
    refused = editor.post(
        "/admin/subscribers/import",
        data={"csrf_token": editor_token},
        files={"file": ("people.csv", b"email\nx@example.org\n", "text/csv")},
    )
    assert refused.status_code == 403
    assert editor.get("/admin/subscribers/import/1").status_code == 403
    assert editor.get("/admin/subscribers/import/1/rejected.csv").status_code == 403


def test_a_running_import_polls_and_refreshes_without_javascript(
    as_role: Login, runtime: Runtime
) -> None:
    """A job the worker has not finished: htmx polls the block, <noscript> reloads the page."""
    client, _ = as_role("owner")
    with runtime.db.session() as session:
        job = create_job(
            session, actor="owner@example.org", filename="slow.csv", size_bytes=10, lists=[],
            confirmed=False,
        )  # fmt: skip
    shown = client.get(f"/admin/subscribers/import/{job.id}")
    assert '<span class="badge">queued</span>' in shown.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in shown.text
    assert f'hx-get="/admin/subscribers/import/{job.id}/progress"' in shown.text
    assert f'href="/admin/subscribers/import/{job.id}">Reload</a>' in shown.text
    fragment = client.get(f"/admin/subscribers/import/{job.id}/progress")
    assert "HX-Refresh" not in fragment.headers and "rows done" in fragment.text


def test_export_is_an_owners_csv_download(as_role: Login, runtime: Runtime) -> None:
    with runtime.db.session() as session:
        add_subscriber(session, "exp@example.org", ["videos"], CONSENT, confirmed=True)
    client, token = as_role("owner")
    response = client.post("/admin/subscribers/export", data={"csrf_token": token})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["email"] for r in rows] == ["exp@example.org"]
    assert _actions(runtime)[-1] == "subscribers.export"


def test_erasure_needs_the_address_typed_again(as_role: Login, runtime: Runtime) -> None:
    with runtime.db.session() as session:
        person = add_subscriber(session, "gone@example.org", ["videos"], CONSENT)
        person_id = person.id
    client, token = as_role("owner")
    page = client.get(f"/admin/subscribers/{person_id}").text
    assert "198.51.100.4" in page  # the consent's evidence
    mismatch = client.post(
        f"/admin/subscribers/{person_id}/erase",
        data={"csrf_token": token, "confirm_email": "other@example.org"},
    )
    assert mismatch.status_code == 422
    with runtime.db.session() as session:
        assert session.get(Subscriber, person_id) is not None
    client.post(
        f"/admin/subscribers/{person_id}/erase",
        data={"csrf_token": token, "confirm_email": "Gone@Example.org"},
    )
    with runtime.db.session() as session:
        assert session.get(Subscriber, person_id) is None
        entry = session.scalars(select(AdminAudit).order_by(AdminAudit.id.desc())).first()
        assert entry is not None and entry.action == "subscriber.erase"
        assert "gone" not in f"{entry.target} {entry.detail}"


def test_owners_add_and_remove_admins_in_the_browser(as_role: Login, runtime: Runtime) -> None:
    client, token = as_role("owner")
    weak = client.post(
        "/admin/users",
        data={"csrf_token": token, "email": "new@example.org", "role": "editor", "password": "x"},
    )
    assert weak.status_code == 422 and "at least 10 characters" in weak.text
    client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "new@example.org",
            "role": "editor",
            "password": "long enough pass",
        },
    )
    assert "new@example.org" in client.get("/admin/users").text
    client.post("/admin/users/remove", data={"csrf_token": token, "email": "new@example.org"})
    assert "new@example.org" not in client.get("/admin/users").text
    assert _actions(runtime)[-2:] == ["user.add", "user.remove"]


def test_the_site_page_shows_a_broken_site_file(
    as_role: Login, runtime: Runtime, tmp_path: Path
) -> None:
    broken = tmp_path / "site.toml"
    broken.write_text('[newsletter]\nname = "X"\n', encoding="utf-8")
    client, _ = as_role("viewer")
    assert "The file is valid" in client.get("/admin/site").text
    runtime.__dict__["settings"] = runtime.settings.model_copy(update={"site_config": broken})
    page = client.get("/admin/site")
    assert page.status_code == 200
    assert "This file does not load" in page.text and str(broken) in page.text


def test_poll_now_fetches_the_feed_and_shows_its_posts(as_role: Login, runtime: Runtime) -> None:
    with FeedServer() as server:
        url = server.route(
            "/blog.xml",
            Route(body=rss([Item("g1", "A fresh note", "https://blog.example/1", "Short text.")])),
        )
        site = runtime.site
        runtime.__dict__["site"] = site.model_copy(
            update={
                "newsletter": site.newsletter.model_copy(update={"allow_private_hosts": True}),
                "feeds": (FeedConfig(name="blog", url=url, kind="articles"),),
            }
        )
        client, token = as_role("editor")
        polled = client.post("/admin/feeds/poll", data={"csrf_token": token, "feed": "blog"})
    assert "Polled 1 feed(s): 1 new post(s)." in polled.text
    assert "A fresh note" in polled.text and "Short text." in polled.text
    # A feed's first poll is backlog: the page must not promise it will be mailed.
    assert "never mailed (already published at the first poll)" in polled.text
    assert "mailable from" not in polled.text
    viewer, viewer_token = as_role("viewer")
    assert viewer.post("/admin/feeds/poll", data={"csrf_token": viewer_token}).status_code == 403


def test_send_now_in_embedded_mode_sends_after_the_response(
    as_role: Login, runtime: Runtime
) -> None:
    _posts(runtime)
    with runtime.db.session() as session:
        for i in range(3):
            add_subscriber(session, f"r{i}@example.org", ["videos"], CONSENT, confirmed=True)
    client, token = as_role("owner")
    client.post(
        "/admin/campaigns", data={"csrf_token": token, "lists": ["videos"], "post_ids": ["1"]}
    )
    sent = client.post(
        "/admin/campaigns/1/send", data={"csrf_token": token, "when": "now"}, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/admin/campaigns/1?watch=1"
    # TestClient has run the response's background step: the campaign went out.
    with runtime.db.session() as session:
        assert session.get(Campaign, 1).status is CampaignStatus.sent  # type: ignore[union-attr]
    assert len(messages(runtime.settings.outbox_dir)) == 3
    assert "campaign.send" in _actions(runtime)


def test_an_upload_larger_than_a_public_form_is_imported(as_role: Login, runtime: Runtime) -> None:
    rows = "".join(f"bulk{i:05}@example.org,videos\n" for i in range(4000))
    body = ("email,lists\n" + rows).encode()
    assert len(body) > 100_000  # past the 64 KiB cap of public forms (web/limits.py)
    client, token = as_role("owner")
    shown = client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("big.csv", body, "text/csv")},
    )
    assert shown.status_code == 200, shown.text[:300]
    assert "<strong>4,000</strong>accepted" in shown.text
    with runtime.db.session() as session:
        assert len(session.scalars(select(Subscriber.id)).all()) == 4000
