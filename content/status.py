"""Read-only views of feeds and posts for the CLI and the admin API."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.site import SiteConfig
from db.models import Feed, Post


@dataclass(frozen=True)
class FeedStatus:
    name: str
    kind: str
    url: str
    status: str  # "never polled", "ok", "failing"
    last_success_at: dt.datetime | None
    last_polled_at: dt.datetime | None
    next_poll_at: dt.datetime | None
    last_error: str | None
    error_count: int
    posts: int
    notes: list[str]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class PostSummary:
    id: int
    feed: str
    kind: str
    title: str
    link: str
    published_at: dt.datetime | None
    first_seen_at: dt.datetime
    available_at: dt.datetime
    backlog: bool  # listed by the feed's first poll: never mailed automatically

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def feed_statuses(session: Session, site: SiteConfig) -> list[FeedStatus]:
    """Every feed of the site file, in file order, with what polling has recorded."""
    rows = {f.name: f for f in session.scalars(select(Feed))}
    counts = dict(
        session.execute(select(Post.feed_id, func.count(Post.id)).group_by(Post.feed_id)).all()
    )
    result = []
    for config in site.feeds:
        row = rows.get(config.name)
        if row is None or row.last_polled_at is None:
            status = "never polled"
        else:
            status = "ok" if row.error_count == 0 else "failing"
        result.append(
            FeedStatus(
                name=config.name,
                kind=config.resolved_kind,
                url=config.url,
                status=status,
                last_success_at=row.last_success_at if row else None,
                last_polled_at=row.last_polled_at if row else None,
                next_poll_at=row.next_poll_at if row else None,
                last_error=row.last_error if row else None,
                error_count=row.error_count if row else 0,
                posts=int(counts.get(row.id, 0)) if row else 0,
                notes=list(row.poll_notes or []) if row else [],
            )
        )
    return result


def recent_posts(
    session: Session, *, feed: str | None = None, limit: int = 20
) -> list[PostSummary]:
    """Newest first by when they were first seen."""
    query = select(Post, Feed.name).join(Feed, Feed.id == Post.feed_id)
    if feed:
        query = query.where(Feed.name == feed)
    query = query.order_by(Post.first_seen_at.desc(), Post.id.desc()).limit(limit)
    return [
        PostSummary(
            id=post.id,
            feed=name,
            kind=post.kind.value,
            title=post.title,
            link=post.link,
            published_at=post.published_at,
            first_seen_at=post.first_seen_at,
            available_at=post.available_at,
            backlog=post.backlog,
        )
        for post, name in session.execute(query).all()
    ]
