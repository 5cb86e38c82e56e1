"""Properties of the feed sanitizer: whatever a feed sends, nothing active survives."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.render import PostView, personal_links, render_edition
from config.resources import SITE_EXAMPLE
from config.site import load_site
from content.sanitize import ALLOWED_TAGS, URL_SCHEMES, clean_html, safe_url, to_text
from delivery.placeholders import FillTemplate

SITE = load_site(SITE_EXAMPLE)

ACTIVE_TAGS = {
    "script", "style", "iframe", "object", "embed", "form", "input", "button",
    "svg", "math", "meta", "link", "base", "video", "audio", "textarea",
}  # fmt: skip

fragments = st.sampled_from(
    [
        "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)'>x</a>", "<a href=' JaVaScRiPt:alert(1)'>x</a>",
        "<a href='&#106;avascript:alert(1)'>x</a>", "<svg onload=alert(1)>", "<style>*{}</style>",
        "<iframe src=//evil>", "<form action=//e>", "<p onclick='x()'>p</p>",
        "<a href='data:text/html,<script>'>d</a>", "<math><mi>x</mi></math>",
        "<meta http-equiv=refresh content='0;url=//e'>", "<base href=//e>", "<b>bold</b>",
        "<a href='https://ok.example/'>ok</a>", "<", ">", "\"", "'", "&", "<!--", "-->",
        "<![CDATA[", "<p>", "</p>", "<a ", "href=", "javascript:", "on", "load=",
        "[%unsubscribe_url%]",
    ]
)  # fmt: skip
hostile = st.lists(st.one_of(fragments, st.text(max_size=8)), max_size=25).map("".join)


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend(attrs)


def inspect(html: str) -> _Inspector:
    parser = _Inspector()
    parser.feed(html)
    parser.close()
    return parser


@settings(max_examples=400)
@given(hostile)
def test_clean_html_leaves_only_allowed_tags_and_safe_links(fragment: str) -> None:
    found = inspect(clean_html(fragment))
    assert found.tags <= ALLOWED_TAGS
    assert not found.tags & ACTIVE_TAGS
    for name, value in found.attributes:
        assert not name.startswith("on")
        if name == "href" and value:
            scheme = value.split(":", 1)[0].strip().lower() if ":" in value else ""
            assert scheme in URL_SCHEMES or scheme == ""


def render_post(title: str, summary: str) -> str:
    post = PostView(
        kind="article", title=to_text(title) or "t", link="https://blog.example/p",
        summary_html=clean_html(summary), summary_text=to_text(summary), thumbnail_url=None,
        published=None,
    )  # fmt: skip
    edition = render_edition(
        SITE, subject="s", intro="", posts=[post], sponsor=None, disclaimers=[],
        links=personal_links(), reason="r",
    )  # fmt: skip
    return edition.html


# What our own template carries (<style> and <meta> in <head>); a feed may add none.
BASELINE = render_post("", "")


@settings(max_examples=200, deadline=None)
@given(title=hostile, summary=hostile)
def test_a_rendered_email_carries_no_active_content_from_a_feed(title: str, summary: str) -> None:
    html = render_post(title, summary)
    found = inspect(html)
    assert not found.tags & (ACTIVE_TAGS - {"style", "meta"})
    for tag in ("<style", "<meta", "<link"):
        assert html.count(tag) == BASELINE.count(tag)
    assert not any(name.startswith("on") for name, _ in found.attributes)
    assert FillTemplate.compile(html).keys == {"unsubscribe_url", "preferences_url"}


@settings(max_examples=400)
@given(hostile)
def test_safe_url_keeps_only_http_links(candidate: str) -> None:
    url = safe_url(candidate)
    assert url is None or url.lower().startswith(("http://", "https://"))
