"""`broadsheet web` and `serve` refuse a public interface while the development secrets are set.

Run as subprocesses, as an operator starts them. Only loopback addresses are
ever bound here: a refusal happens before any socket is opened.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.cli import BROADSHEET, cli_env, error_lines, run_cli
from tests.support.processes import stop, wait_for
from tests.support.servers import free_port

STRONG = {"SECRET_KEY": "k" * 40, "ADMIN_TOKEN": "t" * 30}


@pytest.mark.parametrize("command", ["web", "serve"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "broadsheet.example"])
def test_a_public_address_with_development_secrets_is_refused(
    tmp_path: Path, command: str, host: str
) -> None:
    result = run_cli(
        [command, "--host", host, "--port", str(free_port())], cli_env(tmp_path), tmp_path
    )
    assert result.returncode == 1
    assert error_lines(result) == [
        f"error: refusing to listen on {host} with the development SECRET_KEY and ADMIN_TOKEN: "
        "set SECRET_KEY (32+ random characters) and ADMIN_TOKEN (24+ random characters) "
        "in the environment or .env, or listen on 127.0.0.1"
    ]


def test_a_public_address_names_only_the_secret_still_at_its_default(tmp_path: Path) -> None:
    env = cli_env(tmp_path, SECRET_KEY=STRONG["SECRET_KEY"])
    result = run_cli(["web", "--host", "0.0.0.0", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "development ADMIN_TOKEN: set ADMIN_TOKEN" in line and "SECRET_KEY" not in line


def _serve_briefly(tmp_path: Path, host: str, port: int, env: dict[str, str]) -> str:
    """Start `broadsheet web`, wait until it answers, stop it; returns what it printed."""
    log = tmp_path / "web.log"
    process = subprocess.Popen(
        [str(BROADSHEET), "web", "--host", host, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(lambda: healthy() or process.poll() is not None, 30, "the web app")
        assert process.poll() is None, log.read_text()
    finally:
        stop(process)
    return log.read_text()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_serves_with_development_secrets(tmp_path: Path, host: str) -> None:
    _serve_briefly(tmp_path, host, free_port(), cli_env(tmp_path))


def test_serving_on_another_port_than_the_emailed_links_warns(tmp_path: Path) -> None:
    port = free_port()
    printed = _serve_briefly(tmp_path, "127.0.0.1", port, cli_env(tmp_path))
    assert "links in emails point to http://127.0.0.1:8000" in printed
    assert f"to http://127.0.0.1:{port}" in printed


def test_serving_where_the_links_point_says_nothing_of_them(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path, BASE_URL=f"http://localhost:{port}")
    assert "links in emails" not in _serve_briefly(tmp_path, "127.0.0.1", port, env)


@pytest.mark.parametrize("command", ["web", "serve"])
def test_a_broken_site_file_stops_the_start_with_its_reason(tmp_path: Path, command: str) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[newsletter\nname = 1\n")
    env = cli_env(tmp_path, SITE_CONFIG=str(site))
    result = run_cli([command, "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith(f"error: {site}: not valid TOML")


def test_a_missing_site_file_stops_the_start_with_its_reason(tmp_path: Path) -> None:
    env = cli_env(tmp_path, SITE_CONFIG=str(tmp_path / "nowhere.toml"))
    result = run_cli(["web", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 1
    assert error_lines(result) == [
        f"error: {tmp_path / 'nowhere.toml'}: file not found (run `broadsheet init`)"
    ]
