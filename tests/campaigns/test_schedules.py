"""Schedules: the cron matcher, digests in the site's time zone, instant sends, lateness."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from campaigns.schedules import next_firing, previous_firing, run_due
from config.site import Schedule, SiteConfig
from db.engine import Database
from db.models import Campaign, Feed, Post, PostKind, ScheduleRun

UTC = dt.UTC
DENVER = ZoneInfo("America/Denver")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def with_schedules(site: SiteConfig, *schedules: Schedule) -> SiteConfig:
    return site.model_copy(update={"schedules": schedules})


def digest(**kw: object) -> Schedule:
    fields: dict[str, object] = {
        "name": "weekly",
        "kind": "digest",
        "cron": "0 9 * * MON",
        "lists": ("weekly",),
        "grace_minutes": 60,
    }
    return Schedule(**{**fields, **kw})  # type: ignore[arg-type]


def instant(**kw: object) -> Schedule:
    fields: dict[str, object] = {
        "name": "new-video",
        "kind": "instant",
        "lists": ("videos",),
        "feeds": ("channel",),
        "grace_minutes": 60,
    }
    return Schedule(**{**fields, **kw})  # type: ignore[arg-type]


def add_post(
    db: Database, feed_name: str, kind: PostKind, guid: str, available: dt.datetime
) -> int:
    with db.session() as session:
        feed = session.scalar(select(Feed).where(Feed.name == feed_name))
        if feed is None:
            feed = Feed(name=feed_name, url=f"https://example.com/{feed_name}.xml", kind="youtube")
            session.add(feed)
            session.flush()
        post = Post(
            feed_id=feed.id,
            guid=guid,
            kind=kind,
            title=f"Post {guid}",
            link=f"https://example.com/{guid}",
            published_at=available,
            tags=[],
            content_hash=guid,
            first_seen_at=available,
            available_at=available,
        )
        session.add(post)
        session.flush()
        return post.id


def runs(db: Database) -> list[tuple[str, str, str | None]]:
    with db.session() as session:
        return [
            (r.outcome, r.due_at.isoformat(), r.reason)
            for r in session.scalars(select(ScheduleRun).order_by(ScheduleRun.id))
        ]


# -- cron (cronsim) ------------------------------------------------------------------


def test_cron_finds_the_latest_firing_in_the_sites_time_zone() -> None:
    # Monday 1 Dec 2026, 09:30 in Denver (UTC-7) is 16:30 UTC.
    assert previous_firing("0 9 * * MON", at(2026, 12, 1, 16, 30), DENVER) == at(2026, 11, 30, 16)
    assert previous_firing("0 9 * * MON", at(2026, 11, 30, 16, 0), DENVER) == at(2026, 11, 30, 16)
    assert previous_firing("0 9 * * MON", at(2026, 11, 30, 15, 59), DENVER) == at(2026, 11, 23, 16)


def test_cron_finds_the_next_firing_in_the_sites_time_zone_across_a_clock_change() -> None:
    # Sunday 8 Mar 2026 Denver leaves UTC-7 for UTC-6; Monday 09:00 is then 15:00 UTC.
    assert next_firing("0 9 * * MON", at(2026, 3, 7, 12, 0), DENVER) == at(2026, 3, 9, 15)
    assert next_firing("0 9 * * MON", at(2026, 11, 30, 16, 0), DENVER) == at(2026, 12, 7, 16)
    assert next_firing("0 9 * * MON", at(2026, 11, 30, 15, 59), DENVER) == at(2026, 11, 30, 16)


def test_cron_reads_lists_ranges_steps_and_names() -> None:
    # Both day fields restricted: either matches (1 Feb 2026 is a Sunday, 15 Jan a Thursday).
    expr = "*/15 8-10 1,15 JAN-MAR sun"
    assert previous_firing(expr, at(2026, 2, 1, 11, 0), UTC) == at(2026, 2, 1, 10, 45)
    assert previous_firing(expr, at(2026, 1, 15, 8, 20), UTC) == at(2026, 1, 15, 8, 15)
    assert previous_firing(expr, at(2026, 1, 16, 23, 0), UTC) == at(2026, 1, 15, 10, 45)
    assert previous_firing("0 0 * * 7", at(2026, 12, 2, 12), UTC) == at(2026, 11, 29)  # Sunday


def test_a_step_over_the_whole_day_field_leaves_the_weekday_in_charge() -> None:
    """Vixie cron: a day field starting with `*` is unrestricted, so `*/2 ... MON` means
    odd-numbered days that are Mondays (AND), not every odd day or every Monday (OR)."""
    expr = "0 9 */2 * MON"
    # Monday 30 Nov 2026 is even: skipped. The Monday before that was an odd day, 23 Nov.
    assert previous_firing(expr, at(2026, 12, 2, 12), UTC) == at(2026, 11, 23, 9)
    # Tuesday 1 Dec is odd but not a Monday: not a firing either.
    assert previous_firing(expr, at(2026, 12, 1, 12), UTC) == at(2026, 11, 23, 9)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("0 9 * *", "five fields"),
        ("61 9 * * MON", "bad minute"),
        ("0 25 * * *", "bad hour"),
        ("0 9 * * FUNDAY", "bad day-of-week"),
        ("0 9 */0 * *", "bad day-of-month"),
    ],
)
def test_a_bad_cron_fails_the_schedule_with_one_clear_error(bad: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        digest(cron=bad)
    assert caught.value.errors()[0]["loc"] == ("cron",)


# -- digests (the example site is in America/Chicago, UTC-6 in winter) --


def test_a_digest_on_time_makes_one_campaign_from_new_posts(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, digest())
    add_post(db, "channel", PostKind.video, "v1", at(2026, 11, 28, 12, 0))
    now = at(2026, 11, 30, 15, 1)  # one minute after Monday 09:00 in Chicago
    [firing] = run_due(db, site, now)
    assert firing.outcome == "created" and firing.campaign_id is not None
    assert run_due(db, site, now + dt.timedelta(minutes=1)) == []  # once per due time
    with db.session() as session:
        campaign = session.get(Campaign, firing.campaign_id)
        assert campaign is not None
        assert campaign.schedule_name == "weekly" and campaign.list_slugs == ["weekly"]
        assert len(campaign.post_ids) == 1


def test_a_digest_with_nothing_new_is_skipped_and_says_why(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, digest())
    [firing] = run_due(db, site, at(2026, 11, 30, 15, 5))
    assert firing.outcome == "skipped"
    assert runs(db) == [
        ("skipped", "2026-11-30T15:00:00+00:00", "no new posts since the last campaign")
    ]


def test_a_digest_may_send_without_new_posts_when_asked(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, digest(only_if_new=False, intro="No new posts; a note instead."))
    [firing] = run_due(db, site, at(2026, 11, 30, 15, 5))
    assert firing.outcome == "created"
    with db.session() as session:
        campaign = session.get(Campaign, firing.campaign_id)
        assert campaign is not None and campaign.intro == "No new posts; a note instead."


def test_a_digest_without_posts_or_intro_sends_nothing(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, digest(only_if_new=False))
    [firing] = run_due(db, site, at(2026, 11, 30, 15, 5))
    assert (firing.outcome, firing.reason) == ("skipped", "no posts to send")
    with db.session() as session:
        assert session.scalars(select(Campaign)).all() == []
        [run] = session.scalars(select(ScheduleRun)).all()
        assert (run.outcome, run.reason) == ("skipped", "no posts to send")


def test_a_schedule_whose_subject_is_refused_records_why(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, digest(subject="{{ lead.__class__ }}"))
    add_post(db, "channel", PostKind.video, "v1", at(2026, 11, 28, 12, 0))
    [firing] = run_due(db, site, at(2026, 11, 30, 15, 5))
    assert firing.outcome == "skipped"
    assert firing.reason is not None and "template campaign subject:1: access to attribute" in (
        firing.reason
    )
    assert run_due(db, site, at(2026, 11, 30, 15, 6)) == []  # recorded once, not retried
    with db.session() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_a_new_digest_schedule_does_not_call_its_past_firing_late(
    db: Database, site: SiteConfig
) -> None:
    site = with_schedules(site, digest())  # Mondays 09:00 site time: 15:00 UTC
    add_post(db, "channel", PostKind.video, "v1", at(2026, 12, 2, 12, 0))
    [firing] = run_due(db, site, at(2026, 12, 2, 18, 0))  # installed on a Wednesday
    assert firing.outcome == "skipped" and firing.campaign_id is None
    assert firing.reason is not None
    assert "first send is due 2026-12-07T15:00:00+00:00" in firing.reason
    assert run_due(db, site, at(2026, 12, 2, 18, 5)) == []  # recorded once, not every tick
    [created] = run_due(db, site, at(2026, 12, 7, 15, 1))
    assert created.outcome == "created"


def test_a_late_digest_within_grace_still_sends(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, digest())
    add_post(db, "channel", PostKind.video, "v1", at(2026, 11, 28, 12, 0))
    [firing] = run_due(db, site, at(2026, 11, 30, 15, 59))  # workers were down 59 minutes
    assert firing.outcome == "created"


def test_a_digest_too_late_sends_nothing_and_records_why(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, digest())
    run_due(db, site, at(2026, 11, 23, 16, 0))  # last week's send: the schedule has run before
    add_post(db, "channel", PostKind.video, "v1", at(2026, 11, 28, 12, 0))
    [firing] = run_due(db, site, at(2026, 11, 30, 17, 0))  # two hours late, grace is one
    assert firing.outcome == "late" and firing.campaign_id is None
    [_, (outcome, due, reason)] = runs(db)
    assert (outcome, due) == ("late", "2026-11-30T15:00:00+00:00")
    assert reason is not None and "120 min" in reason and "grace of 60 min" in reason
    with db.session() as session:
        assert session.scalar(select(Campaign.id)) is None


# -- instant sends ----------------------------------------------------------------------


def test_a_new_video_from_a_listed_feed_is_sent_once(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, instant())
    now = at(2026, 12, 1, 12, 0)
    run_due(db, site, now - dt.timedelta(minutes=5))  # nothing yet
    video = add_post(db, "channel", PostKind.video, "v1", now - dt.timedelta(minutes=2))
    add_post(db, "channel", PostKind.article, "a1", now - dt.timedelta(minutes=2))
    add_post(db, "other-channel", PostKind.video, "v2", now - dt.timedelta(minutes=2))
    add_post(db, "channel", PostKind.video, "held", now + dt.timedelta(minutes=30))  # on hold
    [firing] = run_due(db, site, now)
    assert firing.outcome == "created"
    with db.session() as session:
        campaign = session.get(Campaign, firing.campaign_id)
        assert campaign is not None and campaign.post_ids == [video]
    assert run_due(db, site, now + dt.timedelta(minutes=1)) == []


def test_the_held_video_goes_out_when_its_hold_ends(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, instant())
    now = at(2026, 12, 1, 12, 0)
    held = add_post(db, "channel", PostKind.video, "held", now + dt.timedelta(minutes=30))
    assert run_due(db, site, now) == []
    [firing] = run_due(db, site, now + dt.timedelta(minutes=31))
    with db.session() as session:
        campaign = session.get(Campaign, firing.campaign_id)
        assert campaign is not None and campaign.post_ids == [held]


def test_videos_past_the_grace_are_recorded_late_not_sent(db: Database, site: SiteConfig) -> None:
    site = with_schedules(site, instant())
    now = at(2026, 12, 1, 12, 0)
    add_post(db, "channel", PostKind.video, "first", now - dt.timedelta(hours=6))
    [sent] = run_due(db, site, now - dt.timedelta(hours=5, minutes=55))
    assert sent.outcome == "created"  # then the workers went down for hours
    add_post(db, "channel", PostKind.video, "old", now - dt.timedelta(hours=3))
    fresh = add_post(db, "channel", PostKind.video, "new", now - dt.timedelta(minutes=10))
    firings = run_due(db, site, now)
    assert [f.outcome for f in firings] == ["late", "created"]
    assert firings[0].reason is not None and "more than 60 min" in firings[0].reason
    with db.session() as session:
        campaign = session.get(Campaign, firings[1].campaign_id)
        assert campaign is not None and campaign.post_ids == [fresh]
