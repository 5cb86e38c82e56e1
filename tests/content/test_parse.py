from __future__ import annotations

import datetime as dt

import pytest

from content.parse import MAX_ENTRIES, FeedParseError, parse_feed
from tests.support.feeds import Item, Video, rss, youtube

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>t</title>
<item><title>&lol9;</title><link>https://blog.example/1</link></item>
</channel></rss>"""


def test_an_rss_feed_becomes_article_posts() -> None:
    data = rss([Item("a-1", "First", "https://blog.example/1", "<p>Hello <b>there</b></p>")])
    (post,) = parse_feed(data, kind="articles", extra_tags=("notes",), now=NOW).posts
    assert post.kind == "article"
    assert (post.guid, post.title, post.link) == ("a-1", "First", "https://blog.example/1")
    assert post.summary_html == "<p>Hello <b>there</b></p>"
    assert post.summary_text == "Hello there"
    assert post.published_at == dt.datetime(2026, 11, 24, 16, 0, tzinfo=dt.UTC)
    assert post.tags == ("notes",)


def test_a_youtube_feed_gives_video_id_watch_link_thumbnail_and_description() -> None:
    data = youtube([Video("Vid0000001a", "Breathing, Slowly", "Line one.\nLine two & more <3")])
    (post,) = parse_feed(data, kind="youtube", now=NOW).posts
    assert post.kind == "video"
    assert post.video_id == "Vid0000001a"
    assert post.link == "https://www.youtube.com/watch?v=Vid0000001a"
    assert post.thumbnail_url == "https://i.ytimg.example/vi/Vid0000001a/hqdefault.jpg"
    assert post.description == ("Line one.", "Line two & more <3")
    assert post.summary_html == "<p>Line one.</p><p>Line two &amp; more &lt;3</p>"


def test_entities_declared_in_a_doctype_are_refused_before_parsing() -> None:
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed(BILLION_LAUGHS, kind="articles", now=NOW)


def test_entity_declarations_in_utf16_are_refused_too() -> None:
    data = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="utf-16"')
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed(data.encode("utf-16"), kind="articles", now=NOW)


def test_an_html_page_is_not_a_feed() -> None:
    page = b"<!doctype html><html><head><title>Blog</title></head><body><p>Hi</p></body></html>"
    with pytest.raises(FeedParseError, match="not a feed"):
        parse_feed(page, kind="articles", now=NOW)


def test_garbage_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError):
        parse_feed(b"\x00\x01\x02 not xml at all <<<", kind="articles", now=NOW)


def test_malformed_xml_still_yields_its_good_entries_with_a_note() -> None:
    data = rss(
        [
            Item("ok-1", "Fine", "https://blog.example/1"),
            Item("bad", "Broken <b>tag", "https://blog.example/2", raw_title=True),
        ]
    )
    result = parse_feed(data, kind="articles", now=NOW)
    assert "https://blog.example/1" in [p.link for p in result.posts]
    assert any(note.startswith("read leniently") for note in result.notes)


def test_a_wrong_declared_encoding_is_read_with_a_note() -> None:
    data = rss([Item("e-1", "Café naïve", "https://blog.example/1")], encoding="latin-1")
    data = data.replace(b'encoding="latin-1"', b'encoding="utf-8"')
    result = parse_feed(data, kind="articles", now=NOW)
    assert [p.title for p in result.posts] == ["Café naïve"]
    assert result.notes and "read leniently" in result.notes[0]


def test_entries_without_link_or_title_are_skipped_with_reasons_and_the_rest_kept() -> None:
    data = rss(
        [
            Item("no-link", "No link here", None),
            Item("good", "Good one", "https://blog.example/good"),
            Item("no-title", None, "https://blog.example/x"),
            Item("js-link", "Script link", "javascript:alert(1)"),
        ]
    )
    result = parse_feed(data, kind="articles", now=NOW)
    assert [p.guid for p in result.posts] == ["good"]
    assert result.skipped == [
        "entry 1: skipped, no usable http(s) link",
        "entry 3: skipped, no title",
        "entry 4: skipped, no usable http(s) link",
    ]


def test_a_future_date_is_clamped_to_the_poll_time_and_noted() -> None:
    data = rss([Item("f-1", "From the future", "https://blog.example/f", published=None)])
    data = data.replace(b"<guid>", b"<pubDate>Fri, 01 Jan 2100 00:00:00 +0000</pubDate><guid>")
    result = parse_feed(data, kind="articles", now=NOW)
    (post,) = result.posts
    assert post.published_at == NOW
    assert any("2100-01-01" in n and "clamped" in n for n in result.notes)


def test_a_feed_without_dates_still_parses() -> None:
    data = rss([Item("n-1", "Undated", "https://blog.example/n", published=None)])
    (post,) = parse_feed(data, kind="articles", now=NOW).posts
    assert post.published_at is None and post.updated_at is None


def test_guid_falls_back_to_the_link() -> None:
    data = rss([Item("", "No guid", "https://blog.example/g")]).replace(b"<guid></guid>", b"")
    (post,) = parse_feed(data, kind="articles", now=NOW).posts
    assert post.guid == "https://blog.example/g"


def test_an_empty_but_valid_feed_has_no_posts_and_no_error() -> None:
    result = parse_feed(rss([]), kind="articles", now=NOW)
    assert result.posts == [] and result.skipped == []


def test_a_very_long_feed_is_read_up_to_the_entry_limit() -> None:
    items = [
        Item(f"g{i}", f"Post {i}", f"https://blog.example/{i}") for i in range(MAX_ENTRIES + 5)
    ]
    result = parse_feed(rss(items), kind="articles", now=NOW)
    assert len(result.posts) == MAX_ENTRIES
    assert any(f"first {MAX_ENTRIES} were read" in n for n in result.notes)


def test_an_edit_changes_the_content_hash_and_a_reparse_does_not() -> None:
    before = rss([Item("h", "Title", "https://blog.example/h", "<p>One</p>")])
    after = rss([Item("h", "Title", "https://blog.example/h", "<p>One, corrected</p>")])
    (a,) = parse_feed(before, kind="articles", now=NOW).posts
    (b,) = parse_feed(before, kind="articles", now=NOW).posts
    (c,) = parse_feed(after, kind="articles", now=NOW).posts
    assert a.content_hash == b.content_hash != c.content_hash


def test_a_video_without_a_thumbnail_gets_youtubes_and_a_bad_video_id_is_ignored() -> None:
    data = youtube([Video("Vid0000002b", "No thumb", "Text.")]).replace(
        b'<media:thumbnail url="https://i.ytimg.example/vi/Vid0000002b/hqdefault.jpg" '
        b'width="480" height="360"/>',
        b"",
    )
    (post,) = parse_feed(data, kind="youtube", now=NOW).posts
    assert post.thumbnail_url == "https://i.ytimg.com/vi/Vid0000002b/hqdefault.jpg"
    hostile = youtube([Video('x"><script>', "Bad id", "Text.")])
    (bad,) = parse_feed(hostile, kind="youtube", now=NOW).posts
    assert bad.video_id is None
    assert bad.link.startswith("https://www.youtube.com/watch?v=")  # the feed's own link
