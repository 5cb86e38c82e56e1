"""Turn feed bytes into normalised, sanitized post candidates with feedparser.

Feed bytes are hostile until proven otherwise. Entity declarations are refused
before any XML parser sees them (no billion-laughs expansion, no external
entities); a feed that is not well-formed is still read leniently, with a note;
an entry without a title or a link is skipped with a reason; a date in the
future is clamped to the time of the poll, so a mistaken or hostile date cannot
pin a post to the top of every digest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import feedparser

from content.sanitize import clean_html, safe_url, to_text

MAX_ENTRIES = 200  # a feed listing more is read up to here; the rest waits for later polls
FUTURE_SLACK = dt.timedelta(minutes=10)  # clock skew we tolerate before calling a date future
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{6,32}")  # YouTube's are 11; stay a little lenient
YOUTUBE_THUMBNAIL = "https://i.ytimg.com/vi/{}/hqdefault.jpg"
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_WIDE_ENTITY = ("<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))


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
    # A video's description as plain-text lines; the stored summary is these
    # lines minus the feed's recurring boilerplate (content.boilerplate).
    description: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        """Changes when what the feed says changes (edits update, never re-send)."""
        body = json.dumps(
            [self.title, self.link, self.summary_html, self.thumbnail_url, list(self.tags)]
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class ParseResult:
    posts: list[ParsedPost] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason per skipped entry
    notes: list[str] = field(default_factory=list)  # what was read but adjusted


def parse_feed(
    data: bytes,
    *,
    kind: str,
    extra_tags: tuple[str, ...] = (),
    now: dt.datetime | None = None,
) -> ParseResult:
    """Parse a whole feed; a bad entry is skipped with a reason, the rest still parse."""
    now = now or dt.datetime.now(dt.UTC)
    if _ENTITY_DECLARATION.search(data) or any(w in data for w in _WIDE_ENTITY):
        raise FeedParseError("refused: the document declares XML entities (possible entity bomb)")
    # Our own nh3 pass sanitizes; feedparser's slower sanitizer would only add work.
    parsed = feedparser.parse(data, sanitize_html=False)
    entries = parsed.entries
    if not entries:
        problem = f" ({parsed.get('bozo_exception')})" if parsed.get("bozo") else ""
        if not parsed.get("version"):
            raise FeedParseError(f"not a feed: no RSS or Atom root element, an HTML page?{problem}")
        if problem:
            raise FeedParseError(f"not a readable feed{problem}")
    result = ParseResult()
    if parsed.get("bozo"):
        result.notes.append(f"read leniently: {parsed.get('bozo_exception')}")
    if len(entries) > MAX_ENTRIES:
        result.notes.append(
            f"the feed lists {len(entries)} entries; the first {MAX_ENTRIES} were read"
        )
    for index, entry in enumerate(entries[:MAX_ENTRIES]):
        try:
            post = _entry_to_post(entry, kind=kind, extra_tags=extra_tags)
        except ValueError as exc:
            result.skipped.append(f"entry {index + 1}: skipped, {exc}")
            continue
        result.posts.append(_clamp_future(post, now, index, result.notes))
    return result


def _clamp_future(post: ParsedPost, now: dt.datetime, index: int, notes: list[str]) -> ParsedPost:
    def clamped(name: str, when: dt.datetime | None) -> dt.datetime | None:
        if when is None or when <= now + FUTURE_SLACK:
            return when
        notes.append(
            f"entry {index + 1} ({post.title[:60]}): {name} date {when.isoformat()} "
            "is in the future; clamped to the poll time"
        )
        return now

    return dataclasses.replace(
        post,
        published_at=clamped("published", post.published_at),
        updated_at=clamped("updated", post.updated_at),
    )


def _entry_to_post(entry: Any, *, kind: str, extra_tags: tuple[str, ...]) -> ParsedPost:
    raw_id = str(entry.get("yt_videoid") or "").strip()
    video_id = raw_id if _VIDEO_ID.fullmatch(raw_id) else None
    link = safe_url(entry.get("link"))
    if video_id and not link:
        link = f"https://www.youtube.com/watch?v={video_id}"
    if not link:
        raise ValueError("no usable http(s) link")
    title = to_text(str(entry.get("title") or ""))[:500]
    if not title:
        raise ValueError("no title")
    guid = (str(entry.get("id") or "").strip() or link)[:512]
    is_video = bool(video_id) or kind == "youtube"
    tags = tuple(dict.fromkeys([*extra_tags, *(_tag_terms(entry))]))
    summary = str(entry.get("summary") or "")
    # feedparser carries media:description as the summary; it is plain text
    # whose line breaks matter, so it is kept as lines.
    lines = (to_text(line)[:1000] for line in summary.splitlines()) if is_video else ()
    description = tuple(line for line in lines if line)
    summary_html, summary_text = (
        video_summary(description) if is_video else (clean_html(summary), to_text(summary))
    )
    return ParsedPost(
        guid=guid,
        kind="video" if is_video else "article",
        title=title,
        link=link,
        author=to_text(str(entry.get("author") or ""))[:200] or None,
        published_at=_when(entry.get("published_parsed")),
        # dict.get: feedparser's own get() falls back to the published date, with a warning.
        updated_at=_when(dict.get(entry, "updated_parsed")),
        summary_html=summary_html,
        summary_text=summary_text,
        thumbnail_url=_thumbnail(entry) or (video_id and YOUTUBE_THUMBNAIL.format(video_id)),
        video_id=video_id,
        tags=tags,
        description=description,
    )


def video_summary(lines: tuple[str, ...] | list[str]) -> tuple[str, str]:
    """HTML and text of a video description: each plain-text line an escaped paragraph."""
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines), "\n\n".join(lines)


def _tag_terms(entry: Any) -> list[str]:
    terms = (to_text(str(t.get("term") or "")).lower()[:64] for t in entry.get("tags", []) or [])
    return [t for t in terms if t]


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
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:  # feedparser can hand over impossible dates from broken feeds
        return None
