"""Edition variants: a campaign may render more than one edition (e.g. one per sponsor),
and each recipient is assigned one of them at send time.

The sending side only relies on the two functions below: `render_variants`
when the campaign starts, `assign_variants` for each batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from campaigns.compose import build_edition
from campaigns.render import RenderedEdition
from config.site import SiteConfig
from db.models import Campaign

DEFAULT = "default"


def render_variants(
    session: Session, site: SiteConfig, campaign: Campaign, day: dt.date | None = None
) -> dict[str, RenderedEdition]:
    """Every edition this campaign may send, keyed by variant name."""
    return {DEFAULT: build_edition(session, site, campaign, day=day)}


def assign_variants(
    session: Session,
    site: SiteConfig,
    campaign: Campaign,
    subscriber_ids: Sequence[int],
    variants: Sequence[str],
) -> dict[int, str]:
    """The variant each subscriber receives."""
    return dict.fromkeys(subscriber_ids, DEFAULT)
