"""Kept campaign figures (feedback/figures.py): beat computes what the admin will read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from db.engine import Database
from db.models import AdminFigure, Campaign, CampaignStatus, utcnow
from feedback.figures import FRESH_WHILE_RECENT, RECENT, refresh_due


def _campaign(db: Database, status: CampaignStatus, finished_ago: dt.timedelta | None) -> int:
    with db.session() as session:
        campaign = Campaign(
            subject="Hello",
            subject_template="Hello",
            status=status,
            list_slugs=["videos"],
            post_ids=[],
            finished_at=None if finished_ago is None else utcnow() - finished_ago,
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def _keys(db: Database) -> dict[str, dt.datetime]:
    with db.session() as session:
        return {f.key: f.computed_at for f in session.scalars(select(AdminFigure))}


def test_recently_finished_campaigns_get_their_figures_and_others_do_not(db: Database) -> None:
    recent = _campaign(db, CampaignStatus.sent, dt.timedelta(hours=1))
    _campaign(db, CampaignStatus.sent, RECENT + dt.timedelta(hours=1))  # old: on demand only
    _campaign(db, CampaignStatus.sending, None)  # live: always counted by the page
    assert refresh_due(db) == 2
    kept = _keys(db)
    assert set(kept) == {f"counts:{recent}", f"report:{recent}"}
    assert refresh_due(db) == 0  # fresh: nothing to do
    later = utcnow() + FRESH_WHILE_RECENT
    assert refresh_due(db, now=later) == 2
    assert all(at > kept[key] for key, at in _keys(db).items())
    with db.session() as session:
        counts = session.get(AdminFigure, f"counts:{recent}")
        report = session.get(AdminFigure, f"report:{recent}")
        assert counts is not None and counts.data["sent"] == 0
        assert report is not None and report.data["campaign_id"] == recent
