"""A clean card summary for videos: the description without its promo boilerplate.

Video descriptions end in link lists and in-video sponsor reads ("This video
is sponsored by ..."). In an email those would be unlabelled ads and noise, so
the card keeps only the opening paragraphs that are prose: no bare URL, no
sponsorship or sign-up pitch. The edition's own sponsor block is the labelled one.
"""

from __future__ import annotations

import re

MAX_PARAGRAPHS = 3
_PROMO = re.compile(
    r"https?://|www\.|\bsponsor(?:ed|ship)?\b|\baffiliate\b|\bpromo(?:tion)? code\b|"
    r"\bdiscount code\b|\buse code\b|\bsign up\b|\bsubscribe\b|\bjoin (?:the|my|our)\b|"
    r"\bsupport (?:the|this) channel\b|\bfollow (?:me|us)\b",
    re.IGNORECASE,
)
_HTML_PARAGRAPH = re.compile(r"<p\b[^>]*>.*?</p>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def is_prose(visible_text: str) -> bool:
    return bool(visible_text.strip()) and not _PROMO.search(visible_text)


def clean_summary_html(summary_html: str) -> str:
    """The first prose paragraphs of sanitized HTML; unchanged if it is not in paragraphs."""
    paragraphs = _HTML_PARAGRAPH.findall(summary_html)
    if not paragraphs:
        return summary_html
    kept = [p for p in paragraphs if is_prose(_TAG.sub("", p))]
    return "".join(kept[:MAX_PARAGRAPHS])


def clean_summary_text(summary_text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", summary_text)]
    return "\n\n".join([p for p in paragraphs if is_prose(p)][:MAX_PARAGRAPHS])
