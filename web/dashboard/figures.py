"""Slow admin figures kept in the database, shown as of when they were computed.

The store and the rules for a campaign's figures are feedback/figures.py's.
`get` returns a fresh stored figure at once; a stale one too, and queues its
recomputation after the response (the page says "as of"); a missing one is
computed in the request, once. The same serves the dashboard's aggregates
and the sponsor report, each with its own freshness.

Invariant: one process recomputes a key at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from fastapi import BackgroundTasks
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import AdminFigure, utcnow
from feedback.figures import (
    FRESH_WHILE_RECENT,
    Compute,
    freshness,
    kept,
    read_many,
    store,
)

__all__ = ["FRESH_WHILE_RECENT", "freshness", "get", "kept", "read_many", "store"]

log = logging.getLogger(__name__)

_refreshing: set[str] = set()
_lock = threading.Lock()


def _refresh(db: Database, key: str, compute: Compute) -> None:
    try:
        with db.session() as session:
            value = compute(session)
        store(db, key, value)
    except Exception:  # a figure that cannot be computed now keeps its last value
        log.exception("admin figure %s: refresh failed", key)
    finally:
        with _lock:
            _refreshing.discard(key)


def _queue(background: BackgroundTasks | None, db: Database, key: str, compute: Compute) -> None:
    """Recompute `key` after the response (now, without a response to follow)."""
    with _lock:
        if key in _refreshing:
            return
        _refreshing.add(key)
    if background is not None:
        background.add_task(_refresh, db, key, compute)
    else:
        _refresh(db, key, compute)


def get(
    session: Session,
    db: Database,
    background: BackgroundTasks | None,
    key: str,
    compute: Compute,
    fresh_for: dt.timedelta,
    found: AdminFigure | None = None,
    *,
    wait: bool = True,
    now: dt.datetime | None = None,
) -> tuple[Any, dt.datetime | None]:
    """The figure and when it was computed. `found` is its row when the caller read
    several at once (`read_many`); without it the row is looked up here. A missing
    figure is computed in the request, or with `wait=False` (a list of many, where
    each would cost a scan) after the response, and this returns (None, None)."""
    now = now or utcnow()
    row = found if found is not None else session.get(AdminFigure, key)
    if row is None:
        if not wait and background is not None:
            _queue(background, db, key, compute)
            return None, None
        value = compute(session)
        store(db, key, value)
        return value, now
    if now - row.computed_at >= fresh_for:
        _queue(background, db, key, compute)
    return row.data, row.computed_at
