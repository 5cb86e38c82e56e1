"""Edition variants: one edition per sponsor a recipient may get, chosen per recipient.

Frequency caps make the sponsor block depend on the recipient, but an edition
is rendered once. So a campaign renders one edition per candidate -- each paid
sponsor in this campaign's rotation order, then the house ad, then no sponsor
-- and each recipient is assigned the first candidate that reaches them (audience
lists) and that they have not been shown within its `cap_days`.

The sending side only relies on the two functions below: `render_variants`
when the campaign starts, `assign_variants` for each batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns.compose import LEAD_VARIANT, build_edition, edition_day, require_content
from campaigns.render import RenderedEdition
from campaigns.sponsors import by_name, reaches, sponsor_order
from config.site import SiteConfig, Sponsor
from db.ids import among
from db.models import Campaign, Delivery, DeliveryStatus, Edition, Subscription, utcnow
from sponsorship.source import sponsors_for

DEFAULT = LEAD_VARIANT  # what an uncapped subscriber gets; previews and the archive show it
HOUSE = "house"
NONE = "none"


def variant_plan(
    site: SiteConfig,
    campaign: Campaign,
    day: dt.date | None = None,
    sponsors: Sequence[Sponsor] | None = None,
) -> list[tuple[str, Sponsor | None]]:
    """(variant, sponsor) in the order recipients are offered them.

    `sponsors` are the candidates of the day (`sponsorship.source.sponsors_for`);
    without them, the site file's.
    """
    ordered = sponsor_order(
        site.sponsors if sponsors is None else sponsors,
        campaign.list_slugs,
        str(campaign.id),
        day or edition_day(site, campaign),
    )
    if not ordered:
        return [(DEFAULT, None)]
    plan: list[tuple[str, Sponsor | None]] = [(DEFAULT, ordered[0])]
    for rank, sponsor in enumerate(ordered[1:], start=2):
        plan.append((HOUSE if sponsor.house else f"sponsor-{rank}", sponsor))
    plan.append((NONE, None))
    return plan


def render_variants(
    session: Session, site: SiteConfig, campaign: Campaign, day: dt.date | None = None
) -> dict[str, RenderedEdition]:
    """Every edition this campaign may send, keyed by variant name, in offer order."""
    require_content(campaign)
    day = day or edition_day(site, campaign)
    candidates = sponsors_for(session, site, day)
    return {
        variant: build_edition(session, site, campaign, sponsor=sponsor)
        for variant, sponsor in variant_plan(site, campaign, day, candidates)
    }


def assign_variants(
    session: Session,
    site: SiteConfig,
    campaign: Campaign,
    subscriber_ids: Sequence[int],
    editions: Sequence[Edition],
) -> dict[int, str]:
    """The variant each subscriber receives, from the campaign's stored editions."""
    ranked = sorted(editions, key=lambda e: _offer_rank(e.variant))
    offers = {e.variant: e.sponsor_name for e in ranked}
    return choose_variants(session, site, campaign, subscriber_ids, offers, now=utcnow())


def choose_variants(
    session: Session,
    site: SiteConfig,
    campaign: Campaign,
    subscriber_ids: Sequence[int],
    offers: Mapping[str, str | None],
    *,
    now: dt.datetime,
) -> dict[int, str]:
    """First offer (variant -> sponsor name, in order) that reaches and is not capped."""
    ids = list(subscriber_ids)
    if not offers:
        return dict.fromkeys(ids, DEFAULT)
    candidates = sponsors_for(session, site, edition_day(site, campaign))
    sponsors = {
        name: sponsor
        for name in offers.values()
        if name and (sponsor := by_name(candidates, name)) is not None
    }
    # Audience lists matter only for a sponsor that leaves out one of the campaign's
    # lists: everyone in the audience is on some campaign list.
    campaign_lists = set(campaign.list_slugs)
    narrow = any(s.lists and not campaign_lists <= set(s.lists) for s in sponsors.values())
    lists = _lists_of(session, ids) if narrow else {}
    seen = _recently_shown(session, ids, sponsors, campaign.id, now)
    fallback = list(offers)[-1]
    chosen: dict[int, str] = {}
    for subscriber_id in ids:
        chosen[subscriber_id] = fallback
        for variant, name in offers.items():
            sponsor = sponsors.get(name) if name else None
            if sponsor is None or (
                (subscriber_id, sponsor.name) not in seen
                and (
                    not narrow
                    or reaches(sponsor, lists.get(subscriber_id, set()), campaign.list_slugs)
                )
            ):
                chosen[subscriber_id] = variant
                break
    return chosen


def _offer_rank(variant: str) -> tuple[int, str]:
    if variant == DEFAULT:
        return (0, "")
    if variant.startswith("sponsor-") and variant[8:].isdigit():
        return (int(variant[8:]), "")
    return ({HOUSE: 10**6, NONE: 10**6 + 1}.get(variant, 10**6 - 1), variant)


def _lists_of(session: Session, ids: Sequence[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    rows = session.execute(
        select(Subscription.subscriber_id, Subscription.list_slug).where(
            among(session, Subscription.subscriber_id, ids)
        )
    )
    for subscriber_id, slug in rows:
        out.setdefault(subscriber_id, set()).add(slug)
    return out


def _recently_shown(
    session: Session,
    ids: Sequence[int],
    sponsors: Mapping[str, Sponsor],
    campaign_id: int,
    now: dt.datetime,
) -> set[tuple[int, str]]:
    """(subscriber, sponsor) pairs still inside the sponsor's frequency cap."""
    caps = {name: s.cap_days for name, s in sponsors.items() if s.cap_days > 0}
    if not caps or not ids:
        return set()
    shown_at = func.coalesce(Delivery.sent_at, Delivery.queued_at)
    rows = session.execute(
        select(Delivery.subscriber_id, Delivery.sponsor_name, shown_at).where(
            among(session, Delivery.subscriber_id, ids),
            Delivery.sponsor_name.in_(list(caps)),
            Delivery.status == DeliveryStatus.sent,
            Delivery.campaign_id != campaign_id,
            shown_at >= now - dt.timedelta(days=max(caps.values())),
        )
    )
    return {
        (subscriber_id, name)
        for subscriber_id, name, at in rows
        if subscriber_id is not None
        and name is not None
        and at >= now - dt.timedelta(days=caps[name])
    }
