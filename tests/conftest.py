"""Shared fixtures: real SQLite and PostgreSQL databases, real Redis, an outbox runtime.

Every test that takes `db` runs twice, once per database. Under CI=true a
missing PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config.resources import SITE_EXAMPLE
from config.runtime import Runtime, set_runtime
from config.settings import Settings, load_settings
from config.site import SiteConfig, load_site
from db.engine import Database
from db.migrate import upgrade
from db.models import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, exc: Exception) -> None:
    """Skip locally, fail in CI: a missing server must never pass silently there."""
    message = f"{what} is not reachable: {exc}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of our own, migrated, dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection problem means "no server"
        unavailable("PostgreSQL", exc)
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = Database.from_url(url)
    upgrade(database.engine)
    database.engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, migrated once."""
    with throwaway_postgres("broadsheet_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'broadsheet.db'}"
        database = Database.from_url(url)
        upgrade(database.engine)
        database.engine.dispose()
        yield url
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    _truncate_all(url)


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def site() -> SiteConfig:
    return load_site(SITE_EXAMPLE)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=database_url,
        redis_url=None,
        mail_backend="outbox",
        outbox_dir=tmp_path / "outbox",
        data_dir=tmp_path / "data",
        site_config=SITE_EXAMPLE,
        base_url="http://testserver",
        secret_key="test-secret-key-0123456789abcdef",
        admin_token="test-admin-token-0123456789",
    )


@pytest.fixture
def runtime(settings: Settings, db: Database) -> Iterator[Runtime]:
    """A runtime on the test database and a temporary outbox, installed process-wide."""
    rt = Runtime(settings)
    rt.__dict__["db"] = db  # share the fixture's engine
    set_runtime(rt)
    yield rt
    set_runtime(None)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis server, database 15, emptied around each test."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()
