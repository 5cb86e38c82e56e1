"""Running processes follow the site file: an edit is picked up, a broken edit is not."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from config.resources import SITE_EXAMPLE
from config.runtime import Runtime
from config.settings import Settings
from config.site import SiteConfigError
from config.sitefile import SiteFile
from tests.support.processes import stop, wait_for
from tests.support.servers import free_port

EXAMPLE = (SITE_EXAMPLE).read_text()
NAME = 'name = "Steady Ground"'


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str) -> None:
    """Write as an editor does; the stat must differ even within one clock tick."""
    path.write_text(text)
    stamp = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_a_running_runtime_picks_up_an_edited_site_file(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    write(path, EXAMPLE)
    rt = Runtime(settings.model_copy(update={"site_config": path}))
    assert rt.site.newsletter.name == "Steady Ground"
    write(path, EXAMPLE.replace(NAME, 'name = "Steady Ground Weekly"'))
    wait_for(lambda: rt.site.newsletter.name == "Steady Ground Weekly", 5, "the reload")


def test_the_file_is_looked_at_only_every_few_seconds(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    write(path, EXAMPLE)
    clock = Clock()
    site_file = SiteFile(path, check_seconds=2, clock=clock)
    write(path, EXAMPLE.replace(NAME, 'name = "Renamed"'))
    clock.now = 1.9
    assert site_file.current().newsletter.name == "Steady Ground"
    clock.now = 2.0
    assert site_file.current().newsletter.name == "Renamed"


def test_a_broken_edit_keeps_the_last_good_site_and_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "site.toml"
    write(path, EXAMPLE)
    clock = Clock()
    site_file = SiteFile(path, check_seconds=2, clock=clock)
    write(path, EXAMPLE.replace('timezone = "America/Chicago"', 'timezone = "Mars/Olympus"'))
    with caplog.at_level(logging.INFO, logger="config.sitefile"):
        for tick in range(1, 5):  # checked four times; reported once
            clock.now = 2.0 * tick
            assert site_file.current().newsletter.timezone == "America/Chicago"
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "\n" not in message and "keeping the last good one" in message
    assert f"{path}: newsletter.timezone:" in message and "Mars/Olympus" in message
    write(path, EXAMPLE.replace(NAME, 'name = "Fixed"'))
    clock.now = 20.0
    assert site_file.current().newsletter.name == "Fixed"


def test_a_process_never_starts_on_a_broken_site_file(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    write(path, "[newsletter\n")
    with pytest.raises(SiteConfigError, match="not valid TOML"):
        SiteFile(path)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_broadsheet_web_shows_the_edited_site_without_a_restart(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "site.toml"
    write(path, EXAMPLE)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))},
        "DATABASE_URL": settings.database_url,
        "SITE_CONFIG": str(path),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    log = tmp_path / "web.log"
    web = subprocess.Popen(
        [str(Path(sys.executable).with_name("broadsheet")), "web", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"

    def page() -> str:
        try:
            return httpx.get(url, timeout=2).text
        except httpx.HTTPError:
            return ""

    try:
        wait_for(lambda: "Subscribe to Steady Ground" in page(), 30, "the subscribe page")
        write(path, EXAMPLE.replace(NAME, 'name = "Steady Ground Weekly"'))
        wait_for(lambda: "Subscribe to Steady Ground Weekly" in page(), 10, "the new name")
        write(path, "[newsletter\n")  # a half-saved file
        time.sleep(2.5)
        assert "Subscribe to Steady Ground Weekly" in page()
    finally:
        stop(web)
    output = log.read_text()
    assert "Traceback" not in output
    assert output.count("site file not reloaded") == 1, output[-3000:]
