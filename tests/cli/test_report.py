"""`broadsheet report campaign|sponsors` on a real database."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from config.runtime import Runtime
from db.models import Delivery, SponsorClick
from feedback.apply import Rules, apply_events
from feedback.events import parse_events, store_events
from tests.support.sendgrid_events import add_people, deliveries_by_email, event, send_campaign

PEOPLE = ["ada@example.org", "ben@example.org"]


@pytest.fixture
def campaign_id(runtime: Runtime) -> int:
    add_people(runtime, PEOPLE)
    cid = send_campaign(runtime, subject="Quiet evening")
    ids = deliveries_by_email(runtime, cid)
    t0 = time.time() - 600
    ada = {"delivery_id": ids["ada@example.org"], "campaign_id": cid}
    events = [
        event("delivered", "ada@example.org", at=t0, **ada),
        event(
            "click", "ada@example.org", at=t0 + 60, url="https://steady-ground.example/drill", **ada
        ),
    ]
    with runtime.db.session() as session:
        store_events(session, parse_events(events).rows)
    with runtime.db.session() as session:
        apply_events(session, Rules())
        shown = session.get_one(Delivery, ids["ada@example.org"])
        assert shown.sponsor_name
        session.add(
            SponsorClick(sponsor_name=shown.sponsor_name, campaign_id=cid, delivery_id=shown.id)
        )
    return cid


def test_report_campaign_prints_a_table(runtime: Runtime, campaign_id: int) -> None:
    result = CliRunner().invoke(app, ["report", "campaign", str(campaign_id)])
    assert result.exit_code == 0, result.output
    assert "Quiet evening" in result.output
    assert "https://steady-ground.example/drill" in result.output
    assert "delivered" in result.output


def test_report_campaign_json_and_plot(runtime: Runtime, campaign_id: int, tmp_path: Path) -> None:
    plot = tmp_path / "plots" / "campaign.png"
    result = CliRunner().invoke(
        app, ["report", "campaign", str(campaign_id), "--json", "--plot", str(plot)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the "plot written" note goes to stderr
    assert (data["audience"], data["delivered"], data["unique_clicks"]) == (2, 1, 1)
    assert data["clicks_per_link"] == [
        {"url": "https://steady-ground.example/drill", "clicks": 1, "unique": 1}
    ]
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_report_sponsors_json_over_a_range(runtime: Runtime, campaign_id: int) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    result = CliRunner().invoke(
        app, ["report", "sponsors", "--from", today, "--to", today, "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert sum(r["clicks"] for r in rows) == 1
    assert sum(r["impressions"] for r in rows) == 2
    table = CliRunner().invoke(app, ["report", "sponsors"])
    assert table.exit_code == 0 and "CTR" in table.output


def test_report_errors_are_one_line(runtime: Runtime) -> None:
    missing = CliRunner().invoke(app, ["report", "campaign", "424242"])
    assert missing.exit_code == 1
    assert "no campaign with id 424242" in missing.output
    too_big = CliRunner().invoke(app, ["report", "campaign", str(2**63)])
    assert too_big.exit_code == 2
    assert "campaign_id" in too_big.output.replace("CAMPAIGN_ID", "campaign_id")
    backwards = CliRunner().invoke(
        app, ["report", "sponsors", "--from", "2026-11-20", "--to", "2026-11-01"]
    )
    assert backwards.exit_code == 1
    assert "--to is before --from" in backwards.output


def test_report_commands_have_help() -> None:
    for command in (["report"], ["report", "campaign"], ["report", "sponsors"]):
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output
