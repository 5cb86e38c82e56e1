"""`among`: a batch of ids as one array parameter on PostgreSQL, an IN list elsewhere."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.compose import create_campaign
from config.site import SiteConfig
from db.engine import Database
from db.ids import among
from db.models import Campaign, Delivery
from delivery import ledger
from tests.support.seed import seed_subscribers


def test_among_matches_exactly_the_given_ids(db: Database, site: SiteConfig) -> None:
    seed_subscribers(db, 1200)
    with db.session() as session:
        cid = create_campaign(
            session, site, lists=["videos"], subject="Hello", intro="A note from the editor."
        ).id
    with db.session() as session:
        campaign = session.get_one(Campaign, cid)
        ids = ledger.queue_next_slice(session, campaign, site.newsletter.tz)
        chosen = sorted(ids)[::2]
        found = session.scalars(select(Delivery.id).where(among(session, Delivery.id, chosen)))
        assert sorted(found) == chosen
        assert ledger.claim(session, chosen, "k") == chosen
        assert ledger.claim(session, chosen, "k2") == []
