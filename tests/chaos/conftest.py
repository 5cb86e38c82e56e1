"""Fixtures of the chaos suite: a throw-away PostgreSQL database and a private deployment
per scenario, and the per-scenario lines printed at the end of the run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from db.engine import Database
from db.migrate import upgrade
from tests.chaos.harness import Deployment
from tests.conftest import POSTGRES_ADMIN_URL, unavailable

LINES: list[str] = []


@pytest.fixture
def chaos_database() -> Iterator[str]:
    """A PostgreSQL database of this scenario's own, dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"broadsheet_chaos_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection problem means "no server"
        unavailable("PostgreSQL", exc)
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = Database.from_url(url)
    upgrade(database.engine)
    database.engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
