"""Compose a campaign from posts and turn it into its stored edition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.disclaimers import PostFacts, matching_disclaimers
from campaigns.render import (
    Links,
    PostView,
    RenderedEdition,
    personal_links,
    render_edition,
    sponsor_view,
)
from campaigns.sponsors import eligible_sponsors, house_ad, rotate
from campaigns.templating import environment
from config.site import SiteConfig, Sponsor
from db.models import Campaign, CampaignStatus, Edition, Post, utcnow
from delivery.placeholders import placeholder

DEFAULT_SUBJECT = "{{ lead.title if lead else newsletter.name }}"


class CampaignError(ValueError):
    """The campaign cannot be composed or sent as asked; the message says why."""


def create_campaign(
    session: Session,
    site: SiteConfig,
    *,
    lists: Sequence[str],
    post_ids: Sequence[int] | None = None,
    subject: str | None = None,
    intro: str = "",
    schedule_name: str | None = None,
    now: dt.datetime | None = None,
) -> Campaign:
    now = now or utcnow()
    unknown = sorted(set(lists) - set(site.list_slugs()))
    if unknown:
        raise CampaignError(f"unknown list(s): {', '.join(unknown)}")
    if not lists:
        raise CampaignError("a campaign needs at least one list")
    posts = _chosen_posts(session, post_ids) if post_ids else new_posts(session, schedule_name, now)
    campaign = Campaign(
        subject=subject or DEFAULT_SUBJECT,
        intro=intro,
        status=CampaignStatus.draft,
        list_slugs=list(lists),
        post_ids=[p.id for p in posts],
        schedule_name=schedule_name,
        created_at=now,
        fanout_cursor=0,
        consecutive_failures=0,
    )
    session.add(campaign)
    session.flush()
    return campaign


def new_posts(session: Session, schedule_name: str | None, now: dt.datetime) -> list[Post]:
    """Posts past their hold window that arrived since the schedule's last campaign."""
    last = session.scalar(
        select(Campaign.created_at)
        .where(Campaign.schedule_name == schedule_name, Campaign.status != CampaignStatus.cancelled)
        .order_by(Campaign.created_at.desc())
        .limit(1)
    )
    query = select(Post).where(Post.available_at <= now)
    if last is not None:
        query = query.where(Post.first_seen_at > last)
    return list(session.scalars(query.order_by(Post.published_at.desc(), Post.id.desc()).limit(20)))


def _chosen_posts(session: Session, post_ids: Sequence[int]) -> list[Post]:
    found = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(list(post_ids))))}
    missing = [str(i) for i in post_ids if i not in found]
    if missing:
        raise CampaignError(f"no post with id {', '.join(missing)}")
    return [found[i] for i in post_ids]


def campaign_posts(session: Session, campaign: Campaign) -> list[Post]:
    return _chosen_posts(session, campaign.post_ids) if campaign.post_ids else []


def post_view(post: Post, tz: dt.tzinfo) -> PostView:
    published = (
        post.published_at.astimezone(tz).strftime("%-d %b %Y") if post.published_at else None
    )
    return PostView(
        kind=post.kind.value,
        title=post.title,
        link=post.link,
        summary_html=post.summary_html,
        summary_text=post.summary_text,
        thumbnail_url=post.thumbnail_url,
        published=published,
    )


def render_subject(site: SiteConfig, template: str, posts: Sequence[PostView]) -> str:
    return (
        environment()
        .from_string(template)
        .render(lead=posts[0] if posts else None, posts=posts, newsletter=site.newsletter)
    )


def with_utm(url: str, campaign_id: int) -> str:
    """Sponsor links say where the click came from."""
    parts = urlsplit(url)
    utm = urlencode(
        {"utm_source": "broadsheet", "utm_medium": "email", "utm_campaign": f"c{campaign_id}"}
    )
    query = f"{parts.query}&{utm}" if parts.query else utm
    return urlunsplit(parts._replace(query=query))


def choose_sponsor(site: SiteConfig, campaign: Campaign, day: dt.date) -> Sponsor | None:
    ordered = rotate(eligible_sponsors(site.sponsors, campaign.list_slugs, day), str(campaign.id))
    return ordered[0] if ordered else house_ad(site.sponsors, day)


def build_edition(
    session: Session,
    site: SiteConfig,
    campaign: Campaign,
    *,
    links: Links | None = None,
    day: dt.date | None = None,
) -> RenderedEdition:
    """Render the campaign; personal links stay placeholders unless `links` says otherwise."""
    if not site.newsletter.postal_address.strip():
        raise CampaignError("the site file has no postal address; a campaign cannot be sent")
    tz = site.newsletter.tz
    posts = campaign_posts(session, campaign)
    views = [post_view(p, tz) for p in posts]
    links = links or personal_links()
    sponsor = choose_sponsor(site, campaign, day or utcnow().astimezone(tz).date())
    sponsor_url = placeholder("sponsor_url") if links.personal else None
    facts = [PostFacts(tags=tuple(p.tags), text=f"{p.title}\n{p.summary_text}") for p in posts]
    lists = (
        ", ".join(m.name for m in site.lists if m.slug in campaign.list_slugs)
        or site.newsletter.name
    )
    return render_edition(
        site,
        subject=render_subject(site, campaign.subject, views),
        intro=campaign.intro,
        posts=views,
        sponsor=sponsor_view(sponsor, url=sponsor_url or with_utm(str(sponsor.url), campaign.id))
        if sponsor
        else None,
        disclaimers=matching_disclaimers(site.disclaimers, facts),
        links=links,
        reason=f"You are getting this because you subscribed to {lists} from "
        f"{site.newsletter.name}.",
        template=campaign.template,
    )


def store_edition(
    session: Session, campaign: Campaign, variant: str, edition: RenderedEdition
) -> Edition:
    """Keep the rendered edition with the campaign, once per variant."""
    row = session.scalar(
        select(Edition).where(Edition.campaign_id == campaign.id, Edition.variant == variant)
    )
    if row is None:
        row = Edition(campaign_id=campaign.id, variant=variant)
        session.add(row)
    row.subject = edition.subject
    row.html = edition.html
    row.text = edition.text
    row.sponsor_name = edition.sponsor_name
    row.disclaimers = edition.disclaimers
    session.flush()
    return row
