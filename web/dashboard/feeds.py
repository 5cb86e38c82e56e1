"""Feeds and posts: each feed's status and last error, poll now, and the newest posts
with the summary an edition will show (campaigns.summaries)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from accounts.audit import record
from campaigns.compose import post_view
from content.polling import poll_feeds
from content.status import feed_statuses
from db.models import Feed, Post
from web.dashboard.auth import Admin, allow, runtime
from web.dashboard.render import page, redirect

router = APIRouter(prefix="/feeds")
POSTS = 20


@router.get("")
def feeds_page(request: Request, admin: Annotated[Admin, Depends(allow("read"))]) -> Response:
    rt = runtime(request)
    with rt.db.session() as session:
        feeds = feed_statuses(session, rt.site)
        rows = session.execute(
            select(Post, Feed.name)
            .join(Feed, Feed.id == Post.feed_id)
            .order_by(Post.first_seen_at.desc(), Post.id.desc())
            .limit(POSTS)
        ).all()
        posts = [
            {
                "id": p.id,
                "feed": name,
                "title": p.title,
                "link": p.link,
                "kind": p.kind.value,
                "published_at": p.published_at,
                "available_at": p.available_at,
                "backlog": p.backlog,
                # What the edition's card shows (videos lose their promo boilerplate).
                "summary": post_view(p, rt.site.newsletter.tz).summary_text,
            }
            for p, name in rows
        ]
    return page(
        request,
        "feeds",
        {"title": "Feeds and posts", "feeds": feeds, "posts": posts},
        section="feeds",
    )


@router.post("/poll")
async def poll_now(
    request: Request,
    admin: Annotated[Admin, Depends(allow("feeds.poll"))],
    feed: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Poll one feed (or all) now, whatever their schedule, and say what happened."""
    rt = runtime(request)
    configs = [f for f in rt.site.feeds if not feed or f.name == feed]
    if not configs:
        return redirect(request, "/admin/feeds", f"No feed named {feed}.")
    reports = await run_in_threadpool(poll_feeds, rt.db, rt.site, configs, workers=4)
    with rt.db.session() as session:
        record(session, admin.actor, "feeds.poll", feed or "all", feeds=len(reports))
    failed = [r for r in reports if not r.ok]
    new = sum(r.stored.new for r in reports)
    message = f"Polled {len(reports)} feed(s): {new} new post(s)"
    if failed:
        message += f", {len(failed)} failed"
    return redirect(request, "/admin/feeds", message + ".")
