"""A database the operator pointed at wrongly is one line on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import cli_env, error_lines, run_cli
from tests.support.servers import free_port


def test_an_unreachable_database_is_one_line_naming_it(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://broadsheet:hunter2@127.0.0.1:{free_port()}/nowhere"
    result = run_cli(["campaign", "list"], cli_env(tmp_path, DATABASE_URL=url), tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = error_lines(result)
    assert line.startswith("error: database postgresql+psycopg://broadsheet:***@127.0.0.1:")
    assert "is not usable: connection failed" in line
    assert "hunter2" not in result.stderr + result.stdout


def test_a_database_never_initialised_says_to_run_init(tmp_path: Path) -> None:
    result = run_cli(["subscribers", "list"], cli_env(tmp_path), tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = error_lines(result)
    assert line.endswith("no such table: subscribers (run `broadsheet init` to create the tables)")
