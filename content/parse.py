"""Turn feed bytes into normalised, sanitized post candidates with feedparser."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from dataclasses import dataclass, field
from typing import Any

import feedparser

from content.sanitize import clean_html, safe_url, to_text


class FeedParseError(ValueError):
    """The bytes are not a feed we can read; the message says why."""


@dataclass(frozen=True)
class ParsedPost:
    guid: str
    kind: str  # "article" or "video"
    title: str
    link: str
    author: str | None
    published_at: dt.datetime | None
    updated_at: dt.datetime | None
    summary_html: str
    summary_text: str
    thumbnail_url: str | None
    video_id: str | None
    tags: tuple[str, ...]

    @property
    def content_hash(self) -> str:
        """Changes when what a reader would see changes (edits update, never re-send)."""
        body = json.dumps(
            [self.title, self.link, self.summary_html, self.thumbnail_url, list(self.tags)]
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class ParseResult:
    posts: list[ParsedPost] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason per skipped entry


def parse_feed(data: bytes, *, kind: str, extra_tags: tuple[str, ...] = ()) -> ParseResult:
    """Parse a whole feed; a bad entry is skipped with a reason, the rest still parse."""
    parsed = feedparser.parse(data)
    if parsed.get("bozo") and not parsed.entries:
        raise FeedParseError(f"not a readable feed: {parsed.get('bozo_exception')}")
    if not parsed.get("version") and not parsed.entries:
        raise FeedParseError("not a feed (no RSS or Atom root element)")
    result = ParseResult()
    for index, entry in enumerate(parsed.entries):
        try:
            result.posts.append(_entry_to_post(entry, kind=kind, extra_tags=extra_tags))
        except ValueError as exc:
            result.skipped.append(f"entry {index + 1}: {exc}")
    return result


def _entry_to_post(entry: Any, *, kind: str, extra_tags: tuple[str, ...]) -> ParsedPost:
    video_id = entry.get("yt_videoid")
    link = safe_url(entry.get("link"))
    if video_id and not link:
        link = f"https://www.youtube.com/watch?v={video_id}"
    if not link:
        raise ValueError("no usable http(s) link")
    title = to_text(entry.get("title", ""))[:500]
    if not title:
        raise ValueError("no title")
    guid = (entry.get("id") or link)[:512]
    is_video = bool(video_id) or kind == "youtube"
    summary_source = _summary_source(entry, is_video)
    tags = tuple(dict.fromkeys([*extra_tags, *(_tag_terms(entry))]))
    return ParsedPost(
        guid=guid,
        kind="video" if is_video else "article",
        title=title,
        link=link,
        author=to_text(entry.get("author", "")) or None,
        published_at=_when(entry.get("published_parsed")),
        updated_at=_when(entry.get("updated_parsed")),
        summary_html=clean_html(summary_source),
        summary_text=to_text(summary_source),
        thumbnail_url=_thumbnail(entry),
        video_id=video_id,
        tags=tags,
    )


def _summary_source(entry: Any, is_video: bool) -> str:
    summary = str(entry.get("summary", ""))
    if is_video:
        # feedparser carries media:description as the summary; it is plain text
        # whose line breaks matter, so each line becomes an escaped paragraph.
        return "".join(
            f"<p>{html.escape(line)}</p>" for line in summary.splitlines() if line.strip()
        )
    return summary


def _tag_terms(entry: Any) -> list[str]:
    return [to_text(t.get("term", "")).lower() for t in entry.get("tags", []) if t.get("term")]


def _thumbnail(entry: Any) -> str | None:
    for item in entry.get("media_thumbnail", []) or []:
        url = safe_url(item.get("url"))
        if url:
            return url
    return None


def _when(value: Any) -> dt.datetime | None:
    if not value:
        return None
    year, month, day, hour, minute, second = value[:6]
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
