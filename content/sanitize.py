"""Feed HTML is untrusted: reduce it to an email-safe allowlist with nh3."""

from __future__ import annotations

import html
import re

import nh3

from delivery.placeholders import strip_placeholders

# Enough structure for a summary in an email; nothing that runs, styles or submits.
ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
    "h3",
    "h4",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

_SPACE = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# No whitespace, quotes, angle brackets, backslashes or control characters anywhere.
_SAFE_URL = re.compile(r"^https?://[^\s\"'<>\\\x00-\x1f\x7f]+$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|div|li|h[1-6]|blockquote|pre|tr)\s*>", re.IGNORECASE)


def clean_html(fragment: str) -> str:
    """Sanitize a feed HTML fragment; links open safely and carry no referrer."""
    cleaned = nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_absolute_links_only,
    )
    return strip_placeholders(cleaned)


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    # A relative link means nothing in an email; only absolute http(s) and mailto stay.
    if tag == "a" and attribute == "href":
        return value if safe_url(value) or value.lower().startswith("mailto:") else None
    return value


def to_text(fragment: str) -> str:
    """Plain text from HTML or text: tags dropped, entities decoded, spaces tidied."""
    # Block ends become line breaks first so paragraphs survive as paragraphs.
    with_breaks = _BLOCK_END.sub(lambda m: m.group(0) + "\n\n", fragment)
    text = html.unescape(nh3.clean(with_breaks, tags=set(), attributes={}))
    # Markup escaped twice (&amp;lt;script&amp;gt;) is markup again once decoded:
    # strip until nothing tag-like is left, so a text field never holds a tag.
    for _ in range(3):
        if "<" not in text:
            break
        again = html.unescape(nh3.clean(text, tags=set(), attributes={}))
        if again == text:
            break
        text = again
    lines = (_SPACE.sub(" ", _CONTROL.sub("", line)).strip() for line in text.splitlines())
    return strip_placeholders(_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip())


def safe_url(url: str | None) -> str | None:
    """Keep only absolute http(s) URLs; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    url = url.strip()
    return url if _SAFE_URL.match(url) else None
