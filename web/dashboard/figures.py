"""Slow admin figures kept in the database, shown as of when they were computed.

A finished campaign's delivery counts and its report each scan its ledger (a
million rows for a campaign to everyone): far past a page's 150 ms. Each
such figure is stored under a key with the time it was computed
(`admin_figures`). `get` returns a fresh stored figure at once; a stale one
too, and queues its recomputation after the response (the page says "as of");
a missing one is computed in the request, once per campaign.

Only campaigns in a final state (sent, cancelled, failed) are kept: their
ledger no longer grows, and what still changes (events, reconciliation of
uncertain rows) changes slowly, so `freshness` wants a newer figure often
while the campaign is recent and rarely afterwards. A live campaign's figures
are always computed (its page must show the send moving).

Invariants: nothing that decides a send or consent reads these; one process
recomputes a key at a time; when two processes store the same key, the last
one wins and the other's write is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import BackgroundTasks
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import AdminFigure, Campaign, CampaignStatus, utcnow

log = logging.getLogger(__name__)

FINAL = frozenset({CampaignStatus.sent, CampaignStatus.cancelled, CampaignStatus.failed})
RECENT = dt.timedelta(days=2)  # events and reconciliation still arrive
FRESH_WHILE_RECENT = dt.timedelta(minutes=2)
FRESH_LATER = dt.timedelta(hours=6)

Compute = Callable[[Session], Any]

_refreshing: set[str] = set()
_lock = threading.Lock()


def kept(campaign: Campaign) -> bool:
    """Whether this campaign's figures are kept (a final state) or always computed."""
    return campaign.status in FINAL


def freshness(campaign: Campaign, now: dt.datetime) -> dt.timedelta:
    """How old a kept figure of this campaign may be before it is recomputed."""
    finished = campaign.finished_at or campaign.created_at
    return FRESH_WHILE_RECENT if now - finished < RECENT else FRESH_LATER


def read_many(session: Session, keys: Iterable[str]) -> dict[str, AdminFigure]:
    wanted = list(keys)
    if not wanted:
        return {}
    rows = session.scalars(select(AdminFigure).where(AdminFigure.key.in_(wanted)))
    return {row.key: row for row in rows}


def store(db: Database, key: str, value: Any) -> None:
    try:
        with db.session() as session:
            row = session.get(AdminFigure, key)
            if row is None:
                session.add(AdminFigure(key=key, data=value, computed_at=utcnow()))
            else:
                row.data, row.computed_at = value, utcnow()
    except IntegrityError:  # another process stored it first: theirs is as good
        pass


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


def get(
    session: Session,
    db: Database,
    background: BackgroundTasks | None,
    key: str,
    compute: Compute,
    fresh_for: dt.timedelta,
    found: AdminFigure | None = None,
    *,
    now: dt.datetime | None = None,
) -> tuple[Any, dt.datetime]:
    """The figure and when it was computed. `found` is its row when the caller read
    several at once (`read_many`); without it the row is looked up here."""
    now = now or utcnow()
    row = found if found is not None else session.get(AdminFigure, key)
    if row is None:
        value = compute(session)
        store(db, key, value)
        return value, now
    if now - row.computed_at >= fresh_for:
        with _lock:
            queue = key not in _refreshing
            _refreshing.add(key)
        if queue and background is not None:
            background.add_task(_refresh, db, key, compute)
        elif queue:
            _refresh(db, key, compute)
    return row.data, row.computed_at
