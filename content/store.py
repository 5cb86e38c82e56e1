"""Store parsed posts once per (feed, guid); an edit updates but never counts as new.

A post's `first_seen_at` and `available_at` are set once, when it is first
stored, and never move: campaigns find new posts by them, so an edited post
(new content hash) is updated in place without ever becoming "new" again.

A feed's first poll brings its whole back catalogue. Those entries are stored
with `backlog = True` ("already published when we started watching"), which
no schedule and no automatic selection ever mails, except the newest
`backfill` of them when the creator asks for that.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from config.site import FeedConfig
from content.boilerplate import WINDOW, recurring_lines, without_boilerplate
from content.parse import ParsedPost, video_summary
from db.models import Feed, Post, PostKind, utcnow


@dataclass
class StoreResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    backlog: int = 0  # of `new`: a first poll's entries recorded as already published
    backfilled: int = 0  # of `new`: a first poll's newest entries kept mailable on request
    mailable_at: dt.datetime | None = None  # when this poll's new mailable posts may go out


def ensure_feed(session: Session, config: FeedConfig) -> Feed:
    """The database row for a site-file feed, created or brought up to date."""
    feed = session.scalar(select(Feed).where(Feed.name == config.name))
    if feed is None:
        feed = Feed(name=config.name, url=config.url, kind=config.resolved_kind, error_count=0)
        session.add(feed)
        session.flush()
    elif feed.url != config.url or feed.kind != config.resolved_kind:
        feed.url, feed.kind = config.url, config.resolved_kind
        feed.etag = feed.last_modified = None  # a new URL must be fetched in full
    return feed


def store_posts(
    session: Session,
    feed: Feed,
    posts: Iterable[ParsedPost],
    *,
    hold_minutes: int = 0,
    now: dt.datetime | None = None,
    first_poll_backfill: int | None = None,
) -> StoreResult:
    """Store a poll's posts. `first_poll_backfill` is None except on a feed's first
    successful poll, where it is how many of the newest new entries stay mailable;
    the others are recorded as backlog."""
    now = now or utcnow()
    incoming = {p.guid: p for p in posts}  # a feed listing a guid twice keeps the last
    existing = {
        post.guid: post
        for post in session.scalars(
            select(Post).where(Post.feed_id == feed.id, Post.guid.in_(list(incoming)))
        )
    }
    window = _recent_videos(session, feed, exclude=set(incoming))
    boilerplate = recurring_lines(
        [*(_lines(p) for p in window), *(p.description for p in incoming.values())]
    )
    result = StoreResult()
    fresh = [p for guid, p in incoming.items() if guid not in existing]
    mailable = {p.guid for p in fresh}
    if first_poll_backfill is not None:
        mailable = {p.guid for p in _newest_first(fresh)[:first_poll_backfill]}
        result.backlog = len(fresh) - len(mailable)
        result.backfilled = len(mailable)
    new_rows = []
    for guid, parsed in incoming.items():
        stored = existing.get(guid)
        if stored is None:
            row = _new_row(feed, parsed, now, hold_minutes, boilerplate)
            row["backlog"] = guid not in mailable
            new_rows.append(row)
            result.new += 1
            if guid in mailable:
                result.mailable_at = now + dt.timedelta(minutes=hold_minutes)
            continue
        if stored.content_hash != parsed.content_hash:
            _apply(stored, parsed)
            result.updated += 1
        else:
            result.unchanged += 1
        if parsed.kind == "video":
            _clean_summary(stored, boilerplate)
    # A line that starts recurring today also leaves the summaries stored before.
    for stored in window:
        _clean_summary(stored, boilerplate)
    session.flush()
    if new_rows:  # one executemany: a first poll brings a whole feed at once
        session.execute(insert(Post), new_rows)
    return result


_UNDATED = dt.datetime.min.replace(tzinfo=dt.UTC)  # only a sort key's fallback


def _newest_first(posts: list[ParsedPost]) -> list[ParsedPost]:
    """By publication date, newest first; undated entries keep the feed's order, last."""
    dated = sorted(
        (p for p in posts if p.published_at is not None),
        key=lambda p: p.published_at or _UNDATED,
        reverse=True,
    )
    return dated + [p for p in posts if p.published_at is None]


def _recent_videos(session: Session, feed: Feed, exclude: set[str]) -> list[Post]:
    """The feed's most recent videos that this poll does not list itself."""
    query = (
        select(Post)
        .where(Post.feed_id == feed.id, Post.description.is_not(None))
        .order_by(Post.first_seen_at.desc(), Post.id.desc())
        .limit(WINDOW)
    )
    return [p for p in session.scalars(query) if p.guid not in exclude]


def _lines(post: Post) -> list[str]:
    return (post.description or "").splitlines()


def _clean_summary(post: Post, boilerplate: Counter[str]) -> None:
    """A video's summary is its description without the feed's recurring lines."""
    summary_html, summary_text = video_summary(without_boilerplate(_lines(post), boilerplate))
    if (post.summary_html, post.summary_text) != (summary_html, summary_text):
        post.summary_html, post.summary_text = summary_html, summary_text


def _new_row(
    feed: Feed, parsed: ParsedPost, now: dt.datetime, hold_minutes: int, boilerplate: Counter[str]
) -> dict[str, object]:
    row = _fields(parsed)
    if parsed.kind == "video":
        row["summary_html"], row["summary_text"] = video_summary(
            without_boilerplate(parsed.description, boilerplate)
        )
    return {
        **row,
        "feed_id": feed.id,
        "guid": parsed.guid,
        "first_seen_at": now,
        "available_at": now + dt.timedelta(minutes=hold_minutes),
        # A feed without dates still orders sensibly: the post is dated when first seen.
        "published_at": parsed.published_at or now,
    }


def _apply(post: Post, parsed: ParsedPost) -> None:
    for name, value in _fields(parsed).items():
        setattr(post, name, value)
    post.published_at = parsed.published_at or post.published_at


def _fields(parsed: ParsedPost) -> dict[str, object]:
    """A post's columns as the feed gives them; identity and first-seen times stay out."""
    return {
        "kind": PostKind(parsed.kind),
        "title": parsed.title,
        "link": parsed.link,
        "author": parsed.author,
        "published_at": parsed.published_at,
        "updated_at": parsed.updated_at,
        "summary_html": parsed.summary_html,
        "summary_text": parsed.summary_text,
        "thumbnail_url": parsed.thumbnail_url,
        "video_id": parsed.video_id,
        "tags": list(parsed.tags),
        "content_hash": parsed.content_hash,
        "description": "\n".join(parsed.description) if parsed.kind == "video" else None,
    }
