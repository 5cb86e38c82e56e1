"""A finished campaign's slow figures (delivery counts, report), kept in the database.

Counting a campaign's ledger or building its report scans every delivery row
(a million for a campaign to everyone). Once a campaign is in a final state
(sent, cancelled, failed) its ledger no longer grows, and what still changes
(events, reconciliation of uncertain rows) changes slowly: so each figure is
stored under a key with the time it was computed (`admin_figures`), and
`freshness` says how old it may be. The web admin reads them
(web/dashboard/figures.py); beat's `refresh_due` keeps the recent campaigns'
figures fresh, so the first view after a send does not wait for a scan.

Invariants: nothing that decides a send or consent reads these; when two
processes store the same key, the last one wins and the other's write is
dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import AdminFigure, Campaign, CampaignStatus, utcnow
from delivery.ledger import counts_by_status
from feedback.reports import campaign_report

FINAL = frozenset({CampaignStatus.sent, CampaignStatus.cancelled, CampaignStatus.failed})
RECENT = dt.timedelta(days=2)  # events and reconciliation still arrive
FRESH_WHILE_RECENT = dt.timedelta(minutes=2)
FRESH_LATER = dt.timedelta(hours=6)

Compute = Callable[[Session], Any]


def kept(campaign: Campaign) -> bool:
    """Whether this campaign's figures are kept (a final state) or always computed."""
    return campaign.status in FINAL


def freshness(campaign: Campaign, now: dt.datetime) -> dt.timedelta:
    """How old a kept figure of this campaign may be before it is recomputed."""
    finished = campaign.finished_at or campaign.created_at
    return FRESH_WHILE_RECENT if now - finished < RECENT else FRESH_LATER


def counts_key(campaign_id: int) -> str:
    return f"counts:{campaign_id}"


def report_key(campaign_id: int) -> str:
    return f"report:{campaign_id}"


def counts(session: Session, campaign_id: int) -> dict[str, int]:
    return counts_by_status(session, campaign_id)


def report(session: Session, campaign_id: int) -> dict[str, Any]:
    """The campaign report as stored: plain data (nested dataclasses become dicts)."""
    return campaign_report(session, campaign_id).as_dict()


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


def refresh_due(db: Database, now: dt.datetime | None = None) -> int:
    """Compute the counts and report of each campaign that finished within RECENT
    whose kept figures are missing or older than FRESH_WHILE_RECENT; returns how many."""
    now = now or utcnow()
    with db.session() as session:
        recent = list(
            session.scalars(
                select(Campaign.id).where(
                    Campaign.status.in_(FINAL),
                    or_(Campaign.finished_at.is_(None), Campaign.finished_at >= now - RECENT),
                )
            )
        )
        keys = [k for cid in recent for k in (counts_key(cid), report_key(cid))]
        found = read_many(session, keys)
    done = 0
    for campaign_id in recent:
        for key, compute in ((counts_key, counts), (report_key, report)):
            row = found.get(key(campaign_id))
            if row is not None and now - row.computed_at < FRESH_WHILE_RECENT:
                continue
            with db.session() as session:
                value = compute(session, campaign_id)
            store(db, key(campaign_id), value)
            done += 1
    return done
