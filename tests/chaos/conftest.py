"""Fixtures of the chaos suite: a throw-away PostgreSQL database and a private deployment
per scenario, and the per-scenario lines printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import Deployment
from tests.conftest import throwaway_postgres

LINES: list[str] = []


@pytest.fixture
def chaos_database() -> Iterator[str]:
    """A PostgreSQL database of this scenario's own, dropped afterwards."""
    with throwaway_postgres("broadsheet_chaos") as url:
        yield url


@pytest.fixture
def deployment(chaos_database: str, tmp_path: Path) -> Iterator[Deployment]:
    d = Deployment(tmp_path, chaos_database)
    yield d
    d.close()


@pytest.fixture
def report() -> Iterator[list[str]]:
    """Scenarios append their summary line; it is printed now and again in the summary."""
    lines: list[str] = []
    yield lines
    for line in lines:
        print(line)
    LINES.extend(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LINES:
        terminalreporter.section("chaos")
        for line in LINES:
            terminalreporter.write_line(line)
