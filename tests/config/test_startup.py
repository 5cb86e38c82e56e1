"""A bad environment value stops every kind of process with one line naming the setting.

Each entry point runs as a person starts it: the installed `broadsheet`
command, uvicorn loading `web.asgi`, Celery loading `tasks.app`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import BROADSHEET, cli_env, error_lines
from tests.support.servers import free_port

PYTHON = sys.executable

BAD = {
    "MAIL_BACKEND": ({"MAIL_BACKEND": "sendgird"}, "setting MAIL_BACKEND: Input should be"),
    "SEND_RATE_PER_SECOND": (
        {"SEND_RATE_PER_SECOND": "fast"},
        "setting SEND_RATE_PER_SECOND: Input should be a valid number, "
        "unable to parse string as a number",
    ),
    "production defaults": (
        {"ENVIRONMENT": "production"},
        "setting SECRET_KEY: must be set to a random value of 32+ characters in production",
    ),
}


def entry_points(port: int) -> dict[str, list[str]]:
    broadsheet = str(BROADSHEET)
    return {
        "web": [broadsheet, "web", "--port", str(port)],
        "web, two workers": [broadsheet, "web", "--port", str(port), "--workers", "2"],
        "serve": [broadsheet, "serve", "--port", str(port)],
        "worker": [broadsheet, "worker"],
        "beat": [broadsheet, "beat"],
        "init": [broadsheet, "init"],
        "demo": [broadsheet, "demo"],
        "campaign list": [broadsheet, "campaign", "list"],
        "campaign send": [broadsheet, "campaign", "send", "1"],
        "feeds poll": [broadsheet, "feeds", "poll"],
        "posts list": [broadsheet, "posts", "list"],
        "report sponsors": [broadsheet, "report", "sponsors"],
        "subscribers list": [broadsheet, "subscribers", "list"],
        "--help": [broadsheet, "--help"],
        "uvicorn web.asgi:app": [
            PYTHON, "-m", "uvicorn", "web.asgi:app", "--host", "127.0.0.1", "--port", str(port),
        ],
        "celery worker": [PYTHON, "-m", "celery", "-A", "tasks.app:celery_app", "worker"],
        "celery beat": [PYTHON, "-m", "celery", "-A", "tasks.app:celery_app", "beat"],
    }  # fmt: skip


ENTRY_POINTS = list(entry_points(0))


def _run(tmp_path: Path, entry: str, bad: dict[str, str]) -> tuple[int, list[str], str]:
    command = entry_points(free_port())[entry]
    result = subprocess.run(
        command,
        env=cli_env(tmp_path, **bad),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, error_lines(result), result.stderr + result.stdout


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_bad_mail_backend_is_one_line_at_every_entry_point(tmp_path: Path, entry: str) -> None:
    bad, expected = BAD["MAIL_BACKEND"]
    code, lines, everything = _run(tmp_path, entry, bad)
    assert code != 0
    assert "Traceback" not in everything
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), lines


@pytest.mark.parametrize("entry", ["web", "worker", "uvicorn web.asgi:app", "campaign list"])
@pytest.mark.parametrize("problem", ["SEND_RATE_PER_SECOND", "production defaults"])
def test_each_bad_setting_is_one_line_naming_it(tmp_path: Path, entry: str, problem: str) -> None:
    bad, expected = BAD[problem]
    code, lines, everything = _run(tmp_path, entry, bad)
    assert code != 0
    assert "Traceback" not in everything
    assert lines == [f"error: {expected}"]
