"""One edition, three ways to look at it: a neutral preview, a preview as one subscriber,
and the public archive copy. All three show the same posts, sponsor and disclaimers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.compose import CampaignError, build_edition, edition_day, with_utm
from campaigns.disclaimers import label
from campaigns.render import RenderedEdition, public_links
from campaigns.sponsors import by_name
from campaigns.variants import DEFAULT, choose_variants, render_variants
from config.site import SiteConfig
from db.models import Campaign, CampaignStatus, Delivery, Edition, Subscriber, utcnow
from delivery.personalize import LinkMaker, campaign_recipient, crisis_values
from delivery.placeholders import FillTemplate
from sponsorship.source import sponsor_in_campaign, sponsors_for
from subscribers.addresses import normalize_email


@dataclass(frozen=True)
class Preview:
    variant: str
    subject: str
    html: str
    text: str
    sponsor_name: str | None


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign with id {campaign_id}")
    return campaign


def campaign_editions(
    session: Session, site: SiteConfig, campaign: Campaign
) -> dict[str, RenderedEdition]:
    """The stored editions once sending started (exactly what went out), else a fresh render."""
    stored = session.scalars(select(Edition).where(Edition.campaign_id == campaign.id)).all()
    if stored:
        return {
            e.variant: RenderedEdition(e.subject, e.html, e.text, e.sponsor_name, e.disclaimers)
            for e in stored
        }
    return render_variants(session, site, campaign)


def preview(
    session: Session,
    site: SiteConfig,
    links: LinkMaker,
    campaign: Campaign,
    as_email: str | None = None,
) -> Preview:
    """Placeholders filled: with that subscriber's real links, or with neutral stand-ins."""
    editions = campaign_editions(session, site, campaign)
    if as_email is None:
        variant = DEFAULT if DEFAULT in editions else next(iter(editions))
        values = _neutral_values(session, site, campaign, editions[variant])
    else:
        subscriber = session.scalar(
            select(Subscriber).where(Subscriber.email == normalize_email(as_email))
        )
        if subscriber is None:
            raise LookupError(f"no subscriber with address {as_email}")
        offers = {name: e.sponsor_name for name, e in editions.items()}
        variant = choose_variants(session, site, campaign, [subscriber.id], offers, now=utcnow())[
            subscriber.id
        ]
        values = _subscriber_values(session, site, links, campaign, subscriber, editions[variant])
    return _filled(variant, editions[variant], values)


def archive_edition(
    session: Session, site: SiteConfig, links: LinkMaker, campaign: Campaign
) -> RenderedEdition:
    """The public copy of a sent campaign: its lead edition without any personal link."""
    if campaign.status is not CampaignStatus.sent:
        raise LookupError(f"campaign {campaign.id} is not in the archive")
    lead = session.scalar(
        select(Edition).where(Edition.campaign_id == campaign.id, Edition.variant == DEFAULT)
    )
    day = edition_day(site, campaign)
    sponsor = (
        sponsor_in_campaign(session, site, campaign.id, lead.sponsor_name, day)
        if lead is not None and lead.sponsor_name
        else None
    )
    # Sponsor clicks from the archive still go through the tracked redirect, with no delivery.
    sponsor_url = links.sponsor_url(campaign.id, None, sponsor.name) if sponsor else ""
    subscribe_url = f"{links.base_url}/"
    return build_edition(
        session, site, campaign, sponsor=sponsor, links=public_links(subscribe_url, sponsor_url)
    )


def _neutral_values(
    session: Session, site: SiteConfig, campaign: Campaign, edition: RenderedEdition
) -> dict[str, str]:
    sponsor = by_name(
        sponsors_for(session, site, edition_day(site, campaign)), edition.sponsor_name
    )
    values = {
        "unsubscribe_url": "#unsubscribe",
        "preferences_url": "#preferences",
        "sponsor_url": with_utm(str(sponsor.url), campaign.id) if sponsor else "#sponsor",
    }
    return values | crisis_values(site.disclaimers, None)


def _subscriber_values(
    session: Session,
    site: SiteConfig,
    links: LinkMaker,
    campaign: Campaign,
    subscriber: Subscriber,
    edition: RenderedEdition,
) -> dict[str, str]:
    delivery_id = session.scalar(
        select(Delivery.id).where(
            Delivery.campaign_id == campaign.id, Delivery.subscriber_id == subscriber.id
        )
    )
    recipient = campaign_recipient(
        links,
        email=subscriber.email,
        name=subscriber.name,
        subscriber_id=subscriber.id,
        campaign_id=campaign.id,
        delivery_id=delivery_id,
        sponsor_name=edition.sponsor_name,
        crisis=crisis_values(
            [d for d in site.disclaimers if label(d) in edition.disclaimers], subscriber.country
        ),
    )
    return recipient.substitutions


def _filled(variant: str, edition: RenderedEdition, values: dict[str, str]) -> Preview:
    def fill(template: str) -> str:
        compiled = FillTemplate.compile(template)
        missing = compiled.keys - values.keys()
        if missing:
            raise CampaignError(f"no preview value for {', '.join(sorted(missing))}")
        return compiled.fill(values)

    return Preview(
        variant=variant,
        subject=fill(edition.subject),
        html=fill(edition.html),
        text=fill(edition.text),
        sponsor_name=edition.sponsor_name,
    )


_DARK_QUERY = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.IGNORECASE)


def in_dark_mode(html: str) -> str:
    """The edition as a mail client in dark mode shows it: the dark-mode rules always on.

    A preview cannot rely on the viewer's own setting (an admin in light mode
    still wants to see the dark version), so the media query becomes `all`.
    """
    return _DARK_QUERY.sub("@media all", html)
