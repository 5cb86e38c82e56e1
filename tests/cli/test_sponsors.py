"""`broadsheet sponsors ...` run as a creator runs it: init imports the site file's
sponsors once, a slot is booked once, the intake and report links are printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from config.resources import SITE_EXAMPLE
from config.site import load_site
from sponsorship.links import read_intake_token, read_report_token
from tests.support.cli import cli_env, error_lines, run_cli

SECRET = "cli-sponsor-secret-0123456789abcdef"


def _json(args: list[str], env: dict[str, str], cwd: Path) -> Any:
    done = run_cli([*args, "--json"], env, cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_creator_books_a_slot_from_the_terminal(tmp_path: Path) -> None:
    env = cli_env(tmp_path, SECRET_KEY=SECRET)
    init = run_cli(["init"], env, tmp_path)
    assert init.returncode == 0, init.stderr
    in_file = [s.name for s in load_site(SITE_EXAMPLE).sponsors]
    assert f"imported {len(in_file)} sponsor(s)" in init.stdout
    assert "imported" not in run_cli(["init"], env, tmp_path).stdout  # once only
    assert _json(["sponsors", "import"], env, tmp_path) == {"imported": []}

    listed = _json(["sponsors", "list"], env, tmp_path)
    assert [s["name"] for s in listed["sponsors"]] == sorted(in_file)
    assert {s["source"] for s in listed["sponsors"]} == {"site"}

    sponsor = _json(["sponsors", "add", "Foldmaps"], env, tmp_path)
    rival = _json(["sponsors", "add", "Rival Maps"], env, tmp_path)
    placement = _json(
        ["sponsors", "placement", "video-top", "--position", "after_first"], env, tmp_path
    )
    slot = _json(
        ["sponsors", "slot", "--placement", str(placement["id"]), "--date", "2026-12-09",
         "--list", "videos"], env, tmp_path,
    )  # fmt: skip
    booking = _json(
        ["sponsors", "book", "--sponsor", str(sponsor["id"]), "--slot", str(slot["id"])],
        env, tmp_path,
    )  # fmt: skip
    assert booking["state"] == "proposed"

    taken = run_cli(
        ["sponsors", "book", "--sponsor", str(rival["id"]), "--slot", str(slot["id"])],
        env, tmp_path,
    )  # fmt: skip
    assert taken.returncode == 1
    assert error_lines(taken) == [f"error: slot {slot['id']} is already booked"]

    intake = _json(["sponsors", "intake-link", str(booking["id"])], env, tmp_path)
    assert intake["url"].startswith("http://127.0.0.1:8000/sponsor/intake/")
    assert read_intake_token(SECRET, intake["url"].rsplit("/", 1)[1]) == booking["id"]

    report = _json(["sponsors", "report", str(booking["id"]), "--link"], env, tmp_path)
    assert (report["impressions"], report["clicks"], report["campaigns"]) == (0, 0, [])
    assert read_report_token(SECRET, report["report_url"].rsplit("/", 1)[1]) == booking["id"]

    approve = run_cli(["sponsors", "approve", str(booking["id"])], env, tmp_path)
    assert approve.returncode == 1
    assert error_lines(approve) == [
        f"error: booking {booking['id']} has no creative waiting for review"
    ]
    cancelled = _json(["sponsors", "cancel", str(booking["id"])], env, tmp_path)
    assert cancelled["state"] == "cancelled"
    again = _json(
        ["sponsors", "book", "--sponsor", str(rival["id"]), "--slot", str(slot["id"])],
        env, tmp_path,
    )  # fmt: skip
    assert again["state"] == "proposed"  # a cancelled booking frees its slot
