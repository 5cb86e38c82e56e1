"""The confirmation email: rendered once per site, the link filled per recipient."""

from __future__ import annotations

import re
import threading

import css_inline

from campaigns.templating import render
from config.site import SiteConfig
from delivery.message import Envelope, Recipient
from delivery.placeholders import placeholder

CONFIRM_URL_KEY = "confirm_url"

_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
_BLANK_RUNS = re.compile(r"\n{3,}")
_cache: dict[int, tuple[SiteConfig, Envelope]] = {}
_lock = threading.Lock()


def confirmation_envelope(site: SiteConfig) -> Envelope:
    """Rendered and inlined once per site object: every sign-up shares it."""
    with _lock:
        cached = _cache.get(id(site))
        if cached is not None and cached[0] is site:
            return cached[1]
    context: dict[str, object] = {
        "newsletter": site.newsletter,
        "confirm_url": placeholder(CONFIRM_URL_KEY),
        "lists": site.lists,
    }
    newsletter = site.newsletter
    envelope = Envelope(
        subject=" ".join(render("email/confirm/subject.txt", context).split()),
        html=_INLINER.inline(render("email/confirm/body.html", context)),
        text=_BLANK_RUNS.sub("\n\n", render("email/confirm/body.txt", context)).strip() + "\n",
        from_email=str(newsletter.from_email),
        from_name=newsletter.from_name or newsletter.name,
        reply_to=str(newsletter.reply_to) if newsletter.reply_to else None,
        categories=("confirmation",),
    )
    with _lock:
        _cache[id(site)] = (site, envelope)
    return envelope


def confirmation_recipient(email: str, name: str | None, confirm_url: str) -> Recipient:
    return Recipient(email=email, name=name, substitutions={CONFIRM_URL_KEY: confirm_url})
