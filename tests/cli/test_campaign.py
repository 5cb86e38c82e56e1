"""`broadsheet campaign send|test|status|pause|resume|cancel`, embedded: tasks run inline."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app
from config.runtime import Runtime
from tests.support.seed import seed_subscribers

runner = CliRunner()


def make_campaign(runtime: Runtime, subscribers: int = 3) -> int:
    seed_subscribers(runtime.db, subscribers)
    result = runner.invoke(app, ["campaign", "create", "--list", "videos", "--subject", "Hi"])
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
