"""Beat's periodic tasks in embedded mode (eager Celery): feeds are polled, schedules fire
and campaigns go out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from campaigns.compose import create_campaign
from config.runtime import Runtime
from config.site import FeedConfig, Schedule
from db.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    Feed,
    Post,
    PostKind,
    ScheduleRun,
    utcnow,
)
from delivery import campaign_send
from tasks import embedded
from tasks.app import beat_schedule
from tasks.feeds import poll_due_feeds
from tasks.schedules import run_schedules
from tasks.sending import retain_ledger, sweep
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Item, Video, rss, youtube
from tests.support.mail import messages, text_of
from tests.support.seed import seed_subscribers


def test_beat_runs_schedules_and_the_sweeper_every_minute() -> None:
    entries = beat_schedule()
    assert entries["run-schedules"]["task"] == "tasks.schedules.run_schedules"
    assert entries["sweep-sending"]["task"] == "tasks.sending.sweep"
    assert entries["sweep-sending"]["schedule"] == dt.timedelta(minutes=1)


def test_a_new_video_is_mailed_by_the_instant_schedule(runtime: Runtime) -> None:
    instant = Schedule(name="new-video", kind="instant", lists=("videos",), feeds=("channel",))
    # No site feeds: the tick's poll has nothing to fetch; the video is stored by hand.
    runtime.__dict__["site"] = runtime.site.model_copy(
        update={"schedules": (instant,), "feeds": ()}
    )
    seed_subscribers(runtime.db, 3)
    with runtime.db.session() as session:
        feed = Feed(name="channel", url="https://example.com/c.xml", kind="youtube")
        session.add(feed)
        session.flush()
        session.add(
            Post(
                feed_id=feed.id,
                guid="v1",
                kind=PostKind.video,
                title="A calm walk",
                link="https://example.com/v1",
                tags=[],
                content_hash="v1",
                available_at=utcnow() - dt.timedelta(minutes=1),
            )
        )
    [fired] = run_schedules.apply().get()
    assert fired["outcome"] == "created"
    assert len(list(runtime.settings.outbox_dir.glob("*.eml"))) == 3
    assert run_schedules.apply().get() == []  # the same video never goes out twice
    with runtime.db.session() as session:
        campaign = session.scalar(select(Campaign))
        assert campaign is not None and campaign.status is CampaignStatus.sent
        assert session.scalar(select(ScheduleRun.outcome)) == "created"


def test_the_sweeper_starts_a_scheduled_campaign_that_is_due(runtime: Runtime) -> None:
    from delivery import campaign_send

    seed_subscribers(runtime.db, 2)
    with runtime.db.session() as session:
        from campaigns.compose import create_campaign

        campaign_id = create_campaign(
            session, runtime.site, lists=["videos"], subject="Hi", intro="A note from the editor."
        ).id
    campaign_send.schedule(
        runtime.db,
        campaign_id,
        send_at=utcnow() - dt.timedelta(seconds=1),
        local_time=None,
        now=utcnow() - dt.timedelta(minutes=1),
    )
    assert sweep.apply().get()["started"] == 1
    assert len(list(runtime.settings.outbox_dir.glob("*.eml"))) == 2


def _add_video(runtime: Runtime, guid: str, title: str, published: dt.datetime) -> int:
    with runtime.db.session() as session:
        feed = session.scalar(select(Feed).where(Feed.name == "channel"))
        if feed is None:
            feed = Feed(name="channel", url="https://example.com/c.xml", kind="youtube")
            session.add(feed)
            session.flush()
        post = Post(
            feed_id=feed.id,
            guid=guid,
            kind=PostKind.video,
            title=title,
            link=f"https://example.com/{guid}",
            tags=[],
            content_hash=guid,
            published_at=published,
            available_at=utcnow() - dt.timedelta(minutes=1),  # the same poll found both
        )
        session.add(post)
        session.flush()
        return post.id


def test_an_instant_email_leads_with_the_newest_video(runtime: Runtime) -> None:
    instant = Schedule(name="new-video", kind="instant", lists=("videos",), feeds=("channel",))
    runtime.__dict__["site"] = runtime.site.model_copy(
        update={"schedules": (instant,), "feeds": ()}
    )
    seed_subscribers(runtime.db, 1)
    now = utcnow()
    # Stored in the feed's order, newest first, as one poll stores them.
    _add_video(runtime, "v-new", "Evening stretch", now - dt.timedelta(hours=1))
    _add_video(runtime, "v-old", "Morning stretch", now - dt.timedelta(hours=5))
    [fired] = run_schedules.apply().get()
    assert fired["outcome"] == "created"
    [message] = messages(runtime.settings.outbox_dir)
    assert message["Subject"] == "Evening stretch"
    text = text_of(message)
    assert text.index("Evening stretch") < text.index("Morning stretch")


def test_a_digest_sees_the_posts_its_own_tick_polled(runtime: Runtime) -> None:
    digest = Schedule(
        name="daily", kind="digest", cron="* * * * *", lists=("weekly",), grace_minutes=60
    )
    seed_subscribers(runtime.db, 1, lists=("weekly",))
    with FeedServer() as server:
        server.route(
            "/blog.xml", Route(body=rss([Item("old-1", "An old note", "https://b.example/1")]))
        )
        blog = FeedConfig(name="blog", url=server.url("/blog.xml"), kind="articles")
        newsletter = runtime.site.newsletter.model_copy(update={"allow_private_hosts": True})
        runtime.__dict__["site"] = runtime.site.model_copy(
            update={"newsletter": newsletter, "feeds": (blog,), "schedules": ()}
        )
        poll_due_feeds.apply()  # the first poll: the old note is backlog
        server.route(
            "/blog.xml",
            Route(
                body=rss(
                    [
                        Item("new-1", "A fresh note", "https://b.example/2"),
                        Item("old-1", "An old note", "https://b.example/1"),
                    ]
                )
            ),
        )
        with runtime.db.session() as session:  # the blog's interval has passed
            feed = session.scalars(select(Feed).where(Feed.name == "blog")).one()
            feed.next_poll_at = utcnow() - dt.timedelta(seconds=1)
        runtime.__dict__["site"] = runtime.site.model_copy(update={"schedules": (digest,)})
        [fired] = run_schedules.apply().get()  # one tick: poll, then the digest
    assert fired["outcome"] == "created", fired
    [message] = messages(runtime.settings.outbox_dir)
    assert "A fresh note" in text_of(message) and "An old note" not in text_of(message)


def test_a_poll_hands_a_held_video_over_for_the_moment_its_hold_ends(runtime: Runtime) -> None:
    """Embedded mode has no ETA: the poll puts the moment on the embedded beat's wake-ups."""
    instant = Schedule(name="new-video", kind="instant", lists=("videos",), feeds=("channel",))
    with FeedServer() as server:
        server.route("/c.xml", Route(body=youtube([Video("HeldVid0001", "Held", "Soon.")])))
        channel = FeedConfig(
            name="channel", url=server.url("/c.xml"), kind="youtube", hold_minutes=5, backfill=1
        )
        newsletter = runtime.site.newsletter.model_copy(update={"allow_private_hosts": True})
        runtime.__dict__["site"] = runtime.site.model_copy(
            update={"newsletter": newsletter, "feeds": (channel,), "schedules": (instant,)}
        )
        before = embedded.pending_wakeups()
        poll_due_feeds.apply()
    with runtime.db.session() as session:
        available = session.scalars(select(Post.available_at)).one()
    assert available > utcnow() + dt.timedelta(minutes=4)
    assert embedded.pending_wakeups() == sorted(
        {*before, (available, "tasks.schedules.run_instant")}
    )


def test_beat_trades_old_ledger_rows_for_counts_every_hour(runtime: Runtime) -> None:
    entry = beat_schedule()["retain-ledger"]
    assert (entry["task"], entry["schedule"]) == (
        "tasks.sending.retain_ledger",
        dt.timedelta(hours=1),
    )
    seed_subscribers(runtime.db, 5)
    with runtime.db.session() as session:
        cid = create_campaign(
            session, runtime.site, lists=["videos"], subject="Old", intro="A note."
        ).id
    campaign_send.send_inline(runtime.db, runtime.site, runtime.sender, runtime.links, cid)
    days = runtime.settings.delivery_retention_days
    assert retain_ledger() == []  # finished a moment ago: kept
    long_ago = utcnow() - dt.timedelta(days=days + 1)
    with runtime.db.session() as session:
        session.execute(update(Campaign).where(Campaign.id == cid).values(finished_at=long_ago))
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == cid)
            .values(queued_at=long_ago, claimed_at=long_ago, sent_at=long_ago)
        )
    assert retain_ledger() == [cid]
    with runtime.db.session() as session:
        assert session.scalars(select(Delivery.id).where(Delivery.campaign_id == cid)).all() == []
        assert campaign_send.progress(runtime.db, cid).counts["sent"] == 5
