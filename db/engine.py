"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the web process read while a worker writes; busy_timeout waits
    # for a lock instead of failing at once; foreign keys are off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


POOL_SIZE = 12


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # psycopg 3 is the driver we install; plain postgresql:// would ask for psycopg2.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    # Room for every thread of a worker (8 by default, plus the one walking the
    # audience) to hold a connection at once. SQLAlchemy's default keeps five:
    # a send then opened and closed a connection for most batches: a fork and a
    # backend start-up each (the postmaster's forks alone were 5% of PostgreSQL's
    # time in a send), and the statements psycopg had prepared on it were lost.
    kwargs.setdefault("pool_size", POOL_SIZE)
    # No parallel query plans: with a thousand-id batch joined to a large table the
    # planner sometimes chose a parallel hash join, which starts two background
    # processes per statement; on a small machine serving many short statements
    # (a send, sign-ups) that cost several times the index lookups it replaced.
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("options", "-c max_parallel_workers_per_gather=0")
    return create_engine(url, **kwargs)


@dataclass(frozen=True)
class Database:
    """An engine and its session factory, passed explicitly rather than global."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        engine = make_engine(url, **kwargs)
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
