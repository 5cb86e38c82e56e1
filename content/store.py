"""Store parsed posts once per (feed, guid); an edit updates but never counts as new.

A post's `first_seen_at` and `available_at` are set once, when it is first
stored, and never move: campaigns find new posts by them, so an edited post
(new content hash) is updated in place without ever becoming "new" again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select
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
) -> StoreResult:
    now = now or utcnow()
    incoming = {p.guid: p for p in posts}  # a feed listing a guid twice keeps the last
    existing = {
        post.guid: post
        for post in session.scalars(
            select(Post).where(Post.feed_id == feed.id, Post.guid.in_(list(incoming)))
        )
    }
    result = StoreResult()
    for guid, parsed in incoming.items():
        stored = existing.get(guid)
        if stored is None:
            session.add(_new_post(feed, parsed, now, hold_minutes))
            result.new += 1
        elif stored.content_hash != parsed.content_hash:
            _apply(stored, parsed)
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    if any(p.kind == "video" for p in incoming.values()):
        clean_descriptions(session, feed, set(incoming))
    return result


def clean_descriptions(session: Session, feed: Feed, also: Collection[str] = ()) -> int:
    """Re-derive video summaries without the feed's recurring lines; returns how many changed.

    The window is the feed's most recent videos plus the posts named in `also`
    (this poll's), so a line that starts recurring today is also taken out of
    yesterday's stored summary.
    """
    recent = session.scalars(
        select(Post)
        .where(Post.feed_id == feed.id, Post.description.is_not(None))
        .order_by(Post.first_seen_at.desc(), Post.id.desc())
        .limit(WINDOW)
    ).all()
    extra: list[Post] = []
    if also:
        query = select(Post).where(Post.feed_id == feed.id, Post.guid.in_(list(also)))
        extra = list(session.scalars(query))
    window = {p.id: p for p in [*recent, *extra] if p.description is not None}
    lines = {pid: (p.description or "").splitlines() for pid, p in window.items()}
    boilerplate = recurring_lines(lines.values())
    changed = 0
    for pid, post in window.items():
        summary_html, summary_text = video_summary(without_boilerplate(lines[pid], boilerplate))
        if (post.summary_html, post.summary_text) != (summary_html, summary_text):
            post.summary_html, post.summary_text = summary_html, summary_text
            changed += 1
    session.flush()
    return changed


def _new_post(feed: Feed, parsed: ParsedPost, now: dt.datetime, hold_minutes: int) -> Post:
    post = Post(feed_id=feed.id, guid=parsed.guid, first_seen_at=now)
    post.available_at = now + dt.timedelta(minutes=hold_minutes)
    _apply(post, parsed)
    # A feed without dates still orders sensibly: the post is dated when first seen.
    post.published_at = parsed.published_at or now
    return post


def _apply(post: Post, parsed: ParsedPost) -> None:
    post.kind = PostKind(parsed.kind)
    post.title = parsed.title
    post.link = parsed.link
    post.author = parsed.author
    post.published_at = parsed.published_at or post.published_at
    post.updated_at = parsed.updated_at
    post.summary_html = parsed.summary_html
    post.summary_text = parsed.summary_text
    post.thumbnail_url = parsed.thumbnail_url
    post.video_id = parsed.video_id
    post.tags = list(parsed.tags)
    post.content_hash = parsed.content_hash
    post.description = "\n".join(parsed.description) if parsed.kind == "video" else None
