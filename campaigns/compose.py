"""Compose a campaign from posts and turn it into its stored edition.

Invariants: a campaign carries at least one post or a written intro (an email
of only a sponsor and disclaimers is never made); `Campaign.subject` is always
rendered text -- at creation from `subject_template` and the chosen posts, and
from the lead edition once the editions are stored, so lists and reports show
what people got. The template is rendered in the sandbox (campaigns.templating).
"""

from __future__ import annotations

import datetime as dt
import enum
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
    with_booking,
)
from campaigns.sponsors import sponsor_order
from campaigns.summaries import clean_summary_html, clean_summary_text
from campaigns.templating import render_string
from config.site import SiteConfig, Sponsor
from db.models import MAX_ID, Campaign, CampaignStatus, Edition, Post, PostKind, utcnow
from sponsorship.inventory import mark_running
from sponsorship.source import sponsors_for

DEFAULT_SUBJECT = "{{ lead.title if lead else newsletter.name }}"


LEAD_VARIANT = "default"  # the edition an uncapped subscriber gets (campaigns.variants.DEFAULT)


class CampaignError(ValueError):
    """The campaign cannot be composed or sent as asked; the message says why."""


class EmptyCampaign(CampaignError):
    """Neither posts nor an intro: there is nothing to send."""


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
    if not posts and not intro.strip():
        raise EmptyCampaign(
            "a campaign needs at least one post or a written intro (--intro): "
            "there are no new posts to send"
        )
    template = subject or DEFAULT_SUBJECT
    views = [post_view(p, site.newsletter.tz) for p in posts]
    campaign = Campaign(
        subject=render_subject(site, template, views),
        subject_template=template,
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
    """Posts past their hold window that arrived since the schedule's last campaign
    (never a first poll's backlog), newest first."""
    last = session.scalar(
        select(Campaign.created_at)
        .where(Campaign.schedule_name == schedule_name, Campaign.status != CampaignStatus.cancelled)
        .order_by(Campaign.created_at.desc())
        .limit(1)
    )
    query = select(Post).where(Post.available_at <= now, Post.backlog.is_(False))
    if last is not None:
        query = query.where(Post.first_seen_at > last)
    return list(session.scalars(query.order_by(Post.published_at.desc(), Post.id.desc()).limit(20)))


def _chosen_posts(session: Session, post_ids: Sequence[int]) -> list[Post]:
    # An id no column can hold names no post; asking the database would overflow.
    storable = [i for i in post_ids if 1 <= i <= MAX_ID]
    found = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(storable)))}
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
    video = post.kind is PostKind.video
    return PostView(
        kind=post.kind.value,
        title=post.title,
        link=post.link,
        summary_html=clean_summary_html(post.summary_html) if video else post.summary_html,
        summary_text=clean_summary_text(post.summary_text) if video else post.summary_text,
        thumbnail_url=post.thumbnail_url,
        published=published,
    )


def render_subject(site: SiteConfig, template: str, posts: Sequence[PostView]) -> str:
    """The subject line from its (untrusted, sandboxed) template; one line, never empty."""
    context: dict[str, object] = {
        "lead": posts[0] if posts else None,
        "posts": posts,
        "newsletter": site.newsletter,
    }
    subject = " ".join(render_string(template, context, name="campaign subject").split())
    if not subject:
        raise CampaignError("the campaign subject is empty")
    return subject


def require_content(campaign: Campaign) -> None:
    """Refuse to send a campaign with neither posts nor an intro (e.g. one made before the rule)."""
    if not campaign.post_ids and not campaign.intro.strip():
        raise EmptyCampaign(
            f"campaign {campaign.id} has no posts and no intro: there is nothing to send"
        )


def with_utm(url: str, campaign_id: int) -> str:
    """Sponsor links say where the click came from."""
    parts = urlsplit(url)
    utm = urlencode(
        {"utm_source": "broadsheet", "utm_medium": "email", "utm_campaign": f"c{campaign_id}"}
    )
    query = f"{parts.query}&{utm}" if parts.query else utm
    return urlunsplit(parts._replace(query=query))


def choose_sponsor(
    site: SiteConfig,
    campaign: Campaign,
    day: dt.date,
    sponsors: Sequence[Sponsor] | None = None,
) -> Sponsor | None:
    """The sponsor an uncapped subscriber sees: the rotation's first, else the house ad."""
    candidates = site.sponsors if sponsors is None else sponsors
    ordered = sponsor_order(candidates, campaign.list_slugs, str(campaign.id), day)
    return ordered[0] if ordered else None


def compose_edition(
    site: SiteConfig,
    campaign: Campaign,
    posts: Sequence[Post],
    *,
    sponsor: Sponsor | None,
    links: Links,
) -> RenderedEdition:
    """Render the campaign's posts with one sponsor (or none); no database access."""
    if not site.newsletter.postal_address.strip():
        raise CampaignError("the site file has no postal address; a campaign cannot be sent")
    views = [post_view(p, site.newsletter.tz) for p in posts]
    facts = [PostFacts(tags=tuple(p.tags), text=f"{p.title}\n{p.summary_text}") for p in posts]
    lists = [m.name for m in site.lists if m.slug in campaign.list_slugs]
    reason = f"You are getting this because you subscribed to {site.newsletter.name}" + (
        f" ({', '.join(lists)})." if lists else "."
    )
    rendered = render_edition(
        site,
        subject=render_subject(site, campaign.subject_template, views),
        intro=campaign.intro,
        posts=views,
        sponsor=sponsor_view(
            sponsor, url=links.sponsor_url or with_utm(str(sponsor.url), campaign.id)
        )
        if sponsor
        else None,
        disclaimers=matching_disclaimers(site.disclaimers, facts),
        links=links,
        reason=reason,
        template=campaign.template,
    )
    return with_booking(rendered, sponsor)


class _Rotation(enum.Enum):
    FIRST = "first"


ROTATION_FIRST = _Rotation.FIRST  # the sponsor an uncapped subscriber gets


def build_edition(
    session: Session,
    site: SiteConfig,
    campaign: Campaign,
    *,
    links: Links | None = None,
    day: dt.date | None = None,
    sponsor: Sponsor | _Rotation | None = ROTATION_FIRST,
) -> RenderedEdition:
    """Render the campaign; personal links stay placeholders unless `links` says otherwise.

    `sponsor` picks the sponsor block (None: no block); by default the rotation's
    first on `day`. Variants pass each candidate explicitly.
    """
    if isinstance(sponsor, _Rotation):
        day = day or edition_day(site, campaign)
        sponsor = choose_sponsor(site, campaign, day, sponsors_for(session, site, day))
    return compose_edition(
        site,
        campaign,
        campaign_posts(session, campaign),
        sponsor=sponsor,
        links=links or personal_links(),
    )


def edition_day(site: SiteConfig, campaign: Campaign) -> dt.date:
    """The day whose flight dates apply: when sending started, else today (newsletter time)."""
    return (campaign.started_at or utcnow()).astimezone(site.newsletter.tz).date()


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
    if variant == LEAD_VARIANT:
        campaign.subject = edition.subject  # from now on: what was sent
    row.html = edition.html
    row.text = edition.text
    row.sponsor_name = edition.sponsor_name
    row.booking_id = edition.booking_id
    row.creative_id = edition.creative_id
    row.disclaimers = edition.disclaimers
    session.flush()
    if edition.booking_id is not None:
        mark_running(session, edition.booking_id)  # the booking is now in a sent edition
    return row
