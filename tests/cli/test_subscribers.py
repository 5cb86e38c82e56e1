from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from config.runtime import Runtime
from db.models import Subscriber, SubscriberStatus
from tests.support.mail import link, messages

runner = CliRunner()


def test_add_prints_the_new_id_and_sends_a_confirmation(runtime: Runtime) -> None:
    result = runner.invoke(app, ["subscribers", "add", "Tom@Example.org", "--list", "weekly"])
    assert result.exit_code == 0, result.output
    with runtime.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
    assert result.output.strip() == str(person.id)
    assert person.status is SubscriberStatus.pending
    [mail] = messages(runtime.settings.outbox_dir)
    assert "/confirm/" in link(mail, "/confirm/")


def test_add_confirmed_with_json_prints_the_subscriber(runtime: Runtime) -> None:
    result = runner.invoke(
        app, ["subscribers", "add", "uma@example.org", "-l", "videos", "--confirmed", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["email"], data["status"], data["lists"]) == (
        "uma@example.org",
        "confirmed",
        ["videos"],
    )
    assert messages(runtime.settings.outbox_dir) == []


def test_add_refuses_an_unknown_list_in_one_line(runtime: Runtime) -> None:
    result = runner.invoke(app, ["subscribers", "add", "a@example.org", "--list", "nope"])
    assert result.exit_code == 1
    assert "unknown list(s): nope" in result.output
    assert "Traceback" not in result.output


def test_import_reports_each_bad_row_and_keeps_the_good(runtime: Runtime, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("email,name\nava@example.org,Ava\nbroken,Bo\nbea@example.org,Bea\n")
    result = runner.invoke(app, ["subscribers", "import", str(source), "--confirmed"])
    assert result.exit_code == 1, result.output
    assert "line 3: invalid email" in result.output
    assert "3 rows: 2 added" in result.output
    again = runner.invoke(app, ["subscribers", "import", str(source), "--json"])
    report = json.loads(again.stdout)
    assert (report["added"], report["existing"], report["rejected"]) == (0, 2, 1)
    assert report["rejections"][0]["line"] == 3


def test_list_and_export_show_everyone(runtime: Runtime, tmp_path: Path) -> None:
    for address in ("c1@example.org", "c2@example.org"):
        runner.invoke(app, ["subscribers", "add", address, "--confirmed"])
    listed = json.loads(runner.invoke(app, ["subscribers", "list", "--json"]).output)
    assert [p["email"] for p in listed] == ["c1@example.org", "c2@example.org"]
    page_two = json.loads(
        runner.invoke(
            app, ["subscribers", "list", "--json", "--after", str(listed[0]["id"])]
        ).output
    )
    assert [p["email"] for p in page_two] == ["c2@example.org"]
    out = tmp_path / "export.csv"
    assert runner.invoke(app, ["subscribers", "export", str(out)]).exit_code == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["email"] for r in rows] == ["c1@example.org", "c2@example.org"]
    to_stdout = runner.invoke(app, ["subscribers", "export"]).stdout
    assert len(list(csv.DictReader(io.StringIO(to_stdout)))) == 2


def test_erase_removes_the_person_and_keeps_a_suppression(runtime: Runtime) -> None:
    runner.invoke(app, ["subscribers", "add", "gone@example.org", "--confirmed"])
    result = runner.invoke(app, ["subscribers", "erase", "gone@example.org", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["suppression"] == "erased"
    with runtime.db.session() as session:
        assert session.scalars(select(Subscriber)).first() is None
    refused = runner.invoke(app, ["subscribers", "add", "gone@example.org"])
    assert refused.exit_code == 1 and "suppressed" in refused.output


def test_import_of_a_missing_file_is_one_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    result = runner.invoke(app, ["subscribers", "import", str(tmp_path / "nope.csv")])
    assert result.exit_code != 0
    # The message sits in a rich panel that wraps a long path over several lines.
    words = " ".join(result.output.replace("│", " ").split())
    assert "does not exist" in words, result.output
    assert "Traceback" not in result.output


def test_add_refuses_a_non_ascii_mailbox_name_in_one_line(runtime: Runtime) -> None:
    result = runner.invoke(app, ["subscribers", "add", "jos\u00e9@example.org"])
    assert result.exit_code == 1
    assert "plain ASCII" in result.output and "Traceback" not in result.output
