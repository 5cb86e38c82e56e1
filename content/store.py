"""Store parsed posts once per (feed, guid); an edit updates but never counts as new."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.site import FeedConfig
from content.parse import ParsedPost
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
    return result


def _new_post(feed: Feed, parsed: ParsedPost, now: dt.datetime, hold_minutes: int) -> Post:
    post = Post(feed_id=feed.id, guid=parsed.guid, first_seen_at=now)
    post.available_at = now + dt.timedelta(minutes=hold_minutes)
    _apply(post, parsed)
    return post


def _apply(post: Post, parsed: ParsedPost) -> None:
    post.kind = PostKind(parsed.kind)
    post.title = parsed.title
    post.link = parsed.link
    post.author = parsed.author
    post.published_at = parsed.published_at
    post.updated_at = parsed.updated_at
    post.summary_html = parsed.summary_html
    post.summary_text = parsed.summary_text
    post.thumbnail_url = parsed.thumbnail_url
    post.video_id = parsed.video_id
    post.tags = list(parsed.tags)
    post.content_hash = parsed.content_hash
