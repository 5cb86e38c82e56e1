"""`broadsheet admin ...` run as a subprocess, the way a person or a script runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from config.resources import SITE_EXAMPLE

BROADSHEET = [str(Path(sys.executable).parent / "broadsheet")]


def _run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'admin.db'}",
        "SITE_CONFIG": str(SITE_EXAMPLE),
        "REDIS_URL": "",
    }
    return subprocess.run(
        [*BROADSHEET, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def test_add_user_list_and_remove_from_a_script(tmp_path: Path) -> None:
    assert _run(tmp_path, "init").returncode == 0
    added = _run(
        tmp_path,
        "admin", "add-user", "Owner@Example.org", "--role", "owner", "--password-stdin",
        stdin="a long enough secret\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added owner@example.org as owner" in added.stdout
    second = _run(
        tmp_path, "admin", "add-user", "ed@example.org", "--role", "editor", "--password-stdin",
        stdin="another long secret\n",
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    listed = _run(tmp_path, "admin", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["email"], r["role"], r["last_login_at"]) for r in rows] == [
        ("ed@example.org", "editor", None),
        ("owner@example.org", "owner", None),
    ]
    assert "secret" not in listed.stdout and "argon2" not in listed.stdout
    assert _run(tmp_path, "admin", "remove", "ed@example.org").returncode == 0
    rows = json.loads(_run(tmp_path, "admin", "list", "--json").stdout)
    assert [r["email"] for r in rows] == ["owner@example.org"]


def test_bad_input_is_one_line_and_exit_1(tmp_path: Path) -> None:
    assert _run(tmp_path, "init").returncode == 0
    weak = _run(
        tmp_path, "admin", "add-user", "a@example.org", "--role", "owner", "--password-stdin",
        stdin="short\n",
    )  # fmt: skip
    assert weak.returncode == 1
    assert "at least 10 characters" in weak.stderr and "Traceback" not in weak.stderr
    role = _run(
        tmp_path, "admin", "add-user", "a@example.org", "--role", "boss", "--password-stdin",
        stdin="a long enough secret\n",
    )  # fmt: skip
    assert role.returncode == 1 and "unknown role 'boss'" in role.stderr
    missing = _run(tmp_path, "admin", "remove", "nobody@example.org")
    assert missing.returncode == 1 and "no admin with address nobody@example.org" in missing.stderr
