from __future__ import annotations

import pytest

from campaigns.compose import CampaignError, create_campaign
from config.site import SiteConfig
from db.engine import Database
from db.models import MAX_ID


def test_a_post_id_too_large_for_the_database_is_a_missing_post(
    db: Database, site: SiteConfig
) -> None:
    with db.session() as session, pytest.raises(CampaignError, match="no post with id"):
        create_campaign(session, site, lists=["videos"], post_ids=[MAX_ID + 1, -3])
