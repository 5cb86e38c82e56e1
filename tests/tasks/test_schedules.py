"""Beat's per-minute tasks in embedded mode (eager Celery): schedules fire and campaigns go out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from config.runtime import Runtime
from config.site import Schedule
from db.models import Campaign, CampaignStatus, Feed, Post, PostKind, ScheduleRun, utcnow
from tasks.app import beat_schedule
from tasks.schedules import run_schedules
from tasks.sending import sweep
from tests.support.seed import seed_subscribers


def test_beat_runs_schedules_and_the_sweeper_every_minute() -> None:
    entries = beat_schedule()
    assert entries["run-schedules"]["task"] == "tasks.schedules.run_schedules"
    assert entries["sweep-sending"]["task"] == "tasks.sending.sweep"
    assert entries["sweep-sending"]["schedule"] == dt.timedelta(minutes=1)


def test_a_new_video_is_mailed_by_the_instant_schedule(runtime: Runtime) -> None:
    instant = Schedule(name="new-video", kind="instant", lists=("videos",), feeds=("channel",))
    runtime.__dict__["site"] = runtime.site.model_copy(update={"schedules": (instant,)})
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
        runtime.db, campaign_id, send_at=utcnow() - dt.timedelta(seconds=1), local_time=None
    )
    assert sweep.apply().get()["started"] == 1
    assert len(list(runtime.settings.outbox_dir.glob("*.eml"))) == 2
