"""Render a campaign once into an edition: subject, inlined HTML and a readable text part.

Per-recipient values (links, crisis line by country) are left as `[%key%]`
placeholders; the sender fills them, so a million recipients cost one render.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import css_inline

from campaigns.disclaimers import label
from campaigns.templating import render
from config.site import Disclaimer, SiteConfig, Sponsor
from delivery.placeholders import placeholder

_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class PostView:
    kind: str  # "video" or "article": also the name of its card template
    title: str
    link: str
    summary_html: str
    summary_text: str
    thumbnail_url: str | None
    published: str | None


@dataclass(frozen=True)
class SponsorView:
    name: str
    text: str
    cta: str
    url: str
    placement: str
    image_url: str | None = None
    headline: str = ""  # the sponsor desk's creative title; the name above stays


@dataclass(frozen=True)
class DisclaimerView:
    name: str
    text: str
    crisis_line: str | None


@dataclass(frozen=True)
class Links:
    """Where the edition's links point: placeholders (personal) or public URLs (archive)."""

    personal: bool
    unsubscribe_url: str = ""
    preferences_url: str = ""
    subscribe_url: str = ""
    sponsor_url: str = ""


@dataclass(frozen=True)
class RenderedEdition:
    subject: str
    html: str
    text: str
    sponsor_name: str | None
    disclaimers: list[str] = field(default_factory=list)
    booking_id: int | None = None  # the sponsor desk's booking and creative version shown
    creative_id: int | None = None


def personal_links() -> Links:
    """Placeholders that the sender fills per recipient."""
    return Links(
        personal=True,
        unsubscribe_url=placeholder("unsubscribe_url"),
        preferences_url=placeholder("preferences_url"),
        sponsor_url=placeholder("sponsor_url"),
    )


def public_links(subscribe_url: str, sponsor_url: str = "") -> Links:
    """For pages anyone may see: no personal link, a way to subscribe instead."""
    return Links(personal=False, subscribe_url=subscribe_url, sponsor_url=sponsor_url)


def crisis_key(disclaimer: Disclaimer) -> str:
    return f"crisis_{disclaimer.name.replace('-', '_')}"


def sponsor_view(sponsor: Sponsor, *, url: str) -> SponsorView:
    return SponsorView(
        name=sponsor.name,
        text=sponsor.text,
        cta=sponsor.cta,
        url=url,
        placement=sponsor.placement,
        image_url=str(sponsor.image_url) if sponsor.image_url else None,
        headline=str(getattr(sponsor, "headline", "") or ""),
    )


def disclaimer_views(disclaimers: Sequence[Disclaimer], *, personal: bool) -> list[DisclaimerView]:
    """In a personal edition the crisis line is a placeholder filled by country."""
    views = []
    for d in disclaimers:
        if not d.crisis_line:
            line = None
        elif personal:
            line = placeholder(crisis_key(d))
        else:
            line = d.crisis_line["default"]
        views.append(DisclaimerView(name=d.name, text=d.text, crisis_line=line))
    return views


def render_edition(
    site: SiteConfig,
    *,
    subject: str,
    intro: str,
    posts: Sequence[PostView],
    sponsor: SponsorView | None,
    disclaimers: Sequence[Disclaimer],
    links: Links,
    reason: str,
    template: str = "edition",
) -> RenderedEdition:
    context: dict[str, object] = {
        "newsletter": site.newsletter,
        "subject": subject,
        "intro": intro,
        "preheader": intro or (posts[0].title if posts else subject),
        "posts": list(posts),
        "sponsor": sponsor,
        "disclaimers": disclaimer_views(disclaimers, personal=links.personal),
        "links": links,
        "reason": reason,
    }
    subject_line = " ".join(render(f"email/{template}/subject.txt", context).split())
    # ASCII-only HTML (non-ASCII as character references) is stored at one byte
    # per character, which halves what every per-recipient fill has to copy.
    html = _INLINER.inline(render(f"email/{template}/body.html", context))
    html = html.encode("ascii", "xmlcharrefreplace").decode("ascii")
    text = _BLANK_RUNS.sub("\n\n", render(f"email/{template}/body.txt", context)).strip() + "\n"
    return RenderedEdition(
        subject=subject_line,
        html=html,
        text=text,
        sponsor_name=sponsor.name if sponsor else None,
        disclaimers=[label(d) for d in disclaimers],
    )


def with_booking(edition: RenderedEdition, sponsor: Sponsor | None) -> RenderedEdition:
    """The edition naming the desk booking and creative of its sponsor, if it has one."""
    booking_id = getattr(sponsor, "booking_id", None)
    if booking_id is None:
        return edition
    return replace(
        edition, booking_id=booking_id, creative_id=getattr(sponsor, "creative_id", None)
    )
