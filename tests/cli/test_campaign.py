"""`broadsheet campaign send|test|status|pause|resume|cancel`, embedded: tasks run inline."""

from __future__ import annotations

import json
from pathlib import Path

import PIL.Image
import pytest
from typer.testing import CliRunner

from cli.main import app
from config.runtime import Runtime
from db.engine import Database
from db.models import Campaign, CampaignStatus, Post
from tests.support.cli import cli_env, error_lines, run_cli
from tests.support.editions import store_posts
from tests.support.seed import seed_subscribers

runner = CliRunner()


def make_campaign(runtime: Runtime, subscribers: int = 3) -> int:
    seed_subscribers(runtime.db, subscribers)
    result = runner.invoke(
        app, ["campaign", "create", "--list", "videos", "--subject", "Hi", "--intro", "A note."]
    )
    assert result.exit_code == 0, result.output
    return int(result.output.strip())


def status(campaign_id: int) -> dict[str, object]:
    result = runner.invoke(app, ["campaign", "status", str(campaign_id), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_send_wait_sends_everyone_and_shows_the_outcome(runtime: Runtime) -> None:
    campaign_id = make_campaign(runtime)
    result = runner.invoke(app, ["campaign", "send", str(campaign_id), "--wait"])
    assert result.exit_code == 0, result.output
    assert "3 sent" in result.output
    assert len(list(runtime.settings.outbox_dir.glob("*.eml"))) == 3
    assert status(campaign_id)["status"] == "sent"


def test_send_at_schedules_and_cancel_stops_it(runtime: Runtime) -> None:
    campaign_id = make_campaign(runtime)
    result = runner.invoke(app, ["campaign", "send", str(campaign_id), "--at", "2099-01-01T09:00"])
    assert result.exit_code == 0, result.output
    assert "scheduled for 2099-01-01T15:00:00+00:00" in result.output  # 09:00 in Chicago
    assert status(campaign_id)["status"] == "scheduled"
    assert runner.invoke(app, ["campaign", "cancel", str(campaign_id)]).exit_code == 0
    assert status(campaign_id)["status"] == "cancelled"
    assert list(runtime.settings.outbox_dir.glob("*.eml")) == []


def test_test_send_mails_one_marked_copy_and_records_nothing(runtime: Runtime) -> None:
    campaign_id = make_campaign(runtime)
    result = runner.invoke(
        app, ["campaign", "test", str(campaign_id), "--to", "editor@example.org"]
    )
    assert result.exit_code == 0, result.output
    [copy] = runtime.settings.outbox_dir.glob("*.eml")
    assert "editor@example.org" in copy.name
    assert "Subject: [TEST] Hi" in copy.read_text()
    assert status(campaign_id)["total"] == 0


def test_lifecycle_mistakes_are_one_line_errors(runtime: Runtime) -> None:
    campaign_id = make_campaign(runtime)
    paused = runner.invoke(app, ["campaign", "pause", str(campaign_id)])
    assert paused.exit_code == 1
    assert "only a sending campaign can pause" in paused.output
    bad_time = runner.invoke(app, ["campaign", "send", str(campaign_id), "--local-time", "9am"])
    assert bad_time.exit_code == 1 and "HH:MM" in bad_time.output
    missing = runner.invoke(app, ["campaign", "status", "999"])
    assert missing.exit_code == 1 and "no campaign with id 999" in missing.output


def test_every_lifecycle_command_has_help() -> None:
    for command in ["send", "test", "status", "pause", "resume", "cancel"]:
        result = runner.invoke(app, ["campaign", command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_send_at_a_time_in_the_past_is_refused_with_one_line(runtime: Runtime) -> None:
    campaign_id = make_campaign(runtime)
    result = runner.invoke(app, ["campaign", "send", str(campaign_id), "--at", "2026-01-05T09:00"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "send time 2026-01-05 15:00 UTC is in the past" in lines[0]
    assert status(campaign_id)["status"] == "draft"  # nothing was scheduled or sent
    assert list(runtime.settings.outbox_dir.glob("*.eml")) == []


# -- run as a person runs it: the installed command in its own process ----------------

TIDE = "Tide Breathing: a Four-Count Reset for Busy Evenings"  # the lead sample post


@pytest.fixture
def site_env(tmp_path: Path) -> dict[str, str]:
    """A fresh embedded site (SQLite, outbox) made by `broadsheet init`."""
    env = cli_env(tmp_path)
    result = run_cli(["init"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return env


def site_db(env: dict[str, str]) -> Database:
    return Database.from_url(env["DATABASE_URL"])


def test_create_without_posts_or_intro_is_refused_in_one_line(
    site_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(["campaign", "create", "--list", "videos"], site_env, tmp_path)
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: a campaign needs at least one post or a written intro (--intro): "
        "there are no new posts to send"
    ]
    listed = run_cli(["campaign", "list", "--json"], site_env, tmp_path)
    assert json.loads(listed.stdout) == []


def test_create_with_only_an_intro_makes_a_campaign(runtime: Runtime) -> None:
    result = runner.invoke(app, ["campaign", "create", "--list", "videos", "--intro", "A note."])
    assert result.exit_code == 0, result.output
    assert status(int(result.output))["status"] == "draft"


def test_send_refuses_a_campaign_without_posts_or_intro(runtime: Runtime) -> None:
    seed_subscribers(runtime.db, 2)
    with runtime.db.session() as session:  # as made before the rule existed
        empty = Campaign(
            subject="Hi", subject_template="Hi", status=CampaignStatus.draft, list_slugs=["videos"]
        )
        session.add(empty)
        session.flush()
        campaign_id = empty.id
    result = runner.invoke(app, ["campaign", "send", str(campaign_id), "--wait"])
    assert result.exit_code == 1
    assert f"campaign {campaign_id} has no posts and no intro" in result.output
    assert list(runtime.settings.outbox_dir.glob("*.eml")) == []
    assert status(campaign_id)["status"] == "draft"


def test_campaign_list_and_report_show_the_subject_as_sent(
    site_env: dict[str, str], tmp_path: Path
) -> None:
    database = site_db(site_env)
    store_posts(database)
    seed_subscribers(database, 2)
    database.engine.dispose()
    created = run_cli(
        ["campaign", "create", "--list", "videos", "--posts", "101,102,103",
         "--subject", "New: {{ lead.title }}"],
        site_env, tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    campaign_id = created.stdout.strip()
    listed = run_cli(["campaign", "list", "--json"], site_env, tmp_path)
    assert [c["subject"] for c in json.loads(listed.stdout)] == [f"New: {TIDE}"]
    sent = run_cli(["campaign", "send", campaign_id, "--wait"], site_env, tmp_path)
    assert sent.returncode == 0, sent.stderr
    table = run_cli(["campaign", "list"], site_env, tmp_path)
    assert "{{" not in table.stdout and "New: Tide" in table.stdout
    plot = tmp_path / "plot.png"
    report = run_cli(
        ["report", "campaign", campaign_id, "--json", "--plot", str(plot)], site_env, tmp_path
    )
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["subject"] == f"New: {TIDE}"
    with PIL.Image.open(plot) as image:
        assert image.text["Title"] == f"Campaign {campaign_id}: New: {TIDE}"  # type: ignore[attr-defined]


MARKER = "pwned-by-subject"
INJECTIONS = [
    '{{ lipsum.__globals__.os.popen("touch ' + MARKER + '").read() }}',
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch " + MARKER + "').read() }}",
]


@pytest.mark.parametrize("subject", INJECTIONS)
def test_a_template_injection_in_the_subject_runs_nothing(
    site_env: dict[str, str], tmp_path: Path, subject: str
) -> None:
    created = run_cli(
        ["campaign", "create", "--list", "videos", "--intro", "A note.", "--subject", subject],
        site_env,
        tmp_path,
    )
    if created.returncode == 0:  # it must at least never run in the preview
        run_cli(["campaign", "preview", created.stdout.strip()], site_env, tmp_path)
    assert not (tmp_path / MARKER).exists()
    assert created.returncode == 1
    [line] = error_lines(created)
    assert line.startswith("error: template campaign subject:1: ")
    assert "Traceback" not in created.stderr


def test_a_feed_title_with_template_syntax_is_shown_literally(runtime: Runtime) -> None:
    [first, *_] = store_posts(runtime.db)
    with runtime.db.session() as session:
        post = session.get_one(Post, first)
        post.title = "Why {{ 7 * 7 }} breaths {% if true %}matter{% endif %}"
    result = runner.invoke(
        app, ["campaign", "create", "--posts", str(first), "--subject", "New: {{ lead.title }}"]
    )
    assert result.exit_code == 0, result.output
    shown = runner.invoke(app, ["campaign", "preview", result.output.strip()])
    assert "Subject: New: Why {{ 7 * 7 }} breaths {% if true %}matter{% endif %}" in shown.output
    assert "49" not in shown.output
