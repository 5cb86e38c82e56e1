"""Schedules from the site file: a weekly digest by cron, or an instant send per new video.

Beat calls `run_due` every few seconds, after polling due feeds; each call
decides from the database what is due, so a missed tick (workers down) is
noticed on the next one. Every firing is written as a `ScheduleRun`, unique
per (schedule, due time), so a schedule fires at most once per due time
however many beats or workers race — and when
it does not send (no new posts, too late), the row says why.

- digest: due at the latest cron time at or before now, in the site's time
  zone (cronsim reads the cron, with Debian/Vixie semantics). Fired within
  `grace_minutes` of that time it makes a campaign from the posts that arrived
  since its last campaign (skipped if there are none and `only_if_new`);
  later than that it records `late` and sends nothing; on its first run
  ever (a new install, a schedule just added) such a past firing is recorded
  as `skipped`, with the time of the first real send, not as late.
- instant: due whenever a video from one of its feeds (all YouTube feeds if
  none are named) is past its hold window and newer than the schedule's last
  run. Videos that became available more than `grace_minutes` ago are
  recorded as `late`; the first run ever looks back `grace_minutes` only, so
  adding a schedule never mails the whole back catalogue. A feed's first-poll
  backlog is never mailed; the newest video leads.

`kinds` lets a caller fire only the instant schedules: a poll hands a held
post over for the moment its hold ends (tasks/schedules.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cronsim import CronSim
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns.compose import EmptyCampaign, create_campaign, new_posts
from campaigns.templating import TemplateRenderError
from config.site import Schedule, SiteConfig
from db.engine import Database
from db.models import Feed, Post, PostKind, ScheduleRun, utcnow
from delivery.ledger import as_utc


def previous_firing(expression: str, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The latest time at or before `now` at which the cron expression fires in `tz`, in UTC.

    cronsim reads the expression as Debian's (Vixie) cron does: when the
    day-of-month or the day-of-week field starts with `*`, both must match,
    else either may (so `*/2` in the day field still restricts by weekday).
    The site file has validated the expression on load.
    """
    # cronsim's reverse iteration starts one second before the time it is given.
    start = now.astimezone(tz).replace(microsecond=0) + dt.timedelta(seconds=1)
    return next(CronSim(expression, start, reverse=True)).astimezone(dt.UTC)


def next_firing(expression: str, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The first time after `now` at which the cron expression fires in `tz`, in UTC
    (what the dashboard lists as a schedule's next send)."""
    start = now.astimezone(tz).replace(microsecond=0)
    return next(CronSim(expression, start)).astimezone(dt.UTC)


@dataclass(frozen=True)
class Firing:
    schedule: str
    due_at: dt.datetime
    outcome: str  # created, skipped, late
    reason: str | None = None
    campaign_id: int | None = None


def run_due(
    db: Database,
    site: SiteConfig,
    now: dt.datetime | None = None,
    *,
    kinds: Collection[str] = ("digest", "instant"),
) -> list[Firing]:
    """Fire every schedule of `kinds` that is due; returns what happened (campaigns
    to send have ids)."""
    now = now or utcnow()
    firings: list[Firing] = []
    for schedule in site.schedules:
        if schedule.kind not in kinds:
            continue
        if schedule.kind == "digest":
            firing = _run_digest(db, site, schedule, now)
            firings.extend([firing] if firing else [])
        else:
            firings.extend(_run_instant(db, site, schedule, now))
    return firings


def _run_digest(
    db: Database, site: SiteConfig, schedule: Schedule, now: dt.datetime
) -> Firing | None:
    assert schedule.cron is not None  # the site schema requires it for digests
    due = previous_firing(schedule.cron, now, site.newsletter.tz)
    with db.session() as session:
        if _already_ran(session, schedule.name, due):
            return None
    late = now - due
    if late > dt.timedelta(minutes=schedule.grace_minutes) and _first_run(db, schedule.name):
        # A new install (or a schedule just added) is not a missed send: say when
        # the first one will be instead of reporting the past firing as late.
        upcoming = next(CronSim(schedule.cron, now.astimezone(site.newsletter.tz)))
        reason = (
            f"the schedule started after {due.isoformat()}; "
            f"its first send is due {upcoming.astimezone(dt.UTC).isoformat()}"
        )
        return _record(db, Firing(schedule.name, due, "skipped", reason))
    if late > dt.timedelta(minutes=schedule.grace_minutes):
        reason = (
            f"fired {_minutes(late)} min after {due.isoformat()}, "
            f"beyond the grace of {schedule.grace_minutes} min; nothing sent"
        )
        return _record(db, Firing(schedule.name, due, "late", reason))
    return _fire(db, site, schedule, due, now, post_ids=None)


def _run_instant(
    db: Database, site: SiteConfig, schedule: Schedule, now: dt.datetime
) -> list[Firing]:
    grace = dt.timedelta(minutes=schedule.grace_minutes)
    with db.session() as session:
        since = session.scalar(
            select(func.max(ScheduleRun.due_at)).where(ScheduleRun.schedule_name == schedule.name)
        )
        since = as_utc(since) if since is not None else now - grace
        videos = _new_videos(session, site, schedule, since, now)
    stale = [p for p in videos if p.available_at < now - grace]
    fresh = [p for p in videos if p.available_at >= now - grace]
    firings: list[Firing] = []
    if stale:
        reason = (
            f"{len(stale)} video(s) became available more than {schedule.grace_minutes} min "
            f"ago (posts {', '.join(str(p.id) for p in stale)}); nothing sent"
        )
        firing = _record(
            db, Firing(schedule.name, max(p.available_at for p in stale), "late", reason)
        )
        firings.extend([firing] if firing else [])
    if fresh:
        due = max(p.available_at for p in fresh)
        firing = _fire(db, site, schedule, due, now, post_ids=[p.id for p in fresh])
        firings.extend([firing] if firing else [])
    return firings


def _new_videos(
    session: Session, site: SiteConfig, schedule: Schedule, since: dt.datetime, now: dt.datetime
) -> list[Post]:
    feeds = list(schedule.feeds) or [f.name for f in site.feeds if f.resolved_kind == "youtube"]
    return list(
        session.scalars(
            select(Post)
            .join(Feed, Feed.id == Post.feed_id)
            .where(
                Feed.name.in_(feeds),
                Post.kind == PostKind.video,
                Post.backlog.is_(False),
                Post.available_at > since,
                Post.available_at <= now,
            )
            # Newest first, like digests: the newest video leads the email and its subject.
            .order_by(Post.published_at.desc(), Post.id.desc())
        )
    )


def _fire(
    db: Database,
    site: SiteConfig,
    schedule: Schedule,
    due: dt.datetime,
    now: dt.datetime,
    post_ids: Sequence[int] | None,
) -> Firing | None:
    """Claim the (schedule, due) slot and make the campaign in one transaction."""
    try:
        with db.session() as session:
            run = ScheduleRun(
                schedule_name=schedule.name, due_at=due, ran_at=now, outcome="created"
            )
            session.add(run)
            session.flush()  # the unique (schedule, due) row: a racing beat fails here
            if (
                post_ids is None
                and schedule.only_if_new
                and not new_posts(session, schedule.name, now)
            ):
                run.outcome, run.reason = "skipped", "no new posts since the last campaign"
                return Firing(schedule.name, due, "skipped", run.reason)
            try:
                campaign = create_campaign(
                    session,
                    site,
                    lists=schedule.lists,
                    post_ids=post_ids,
                    subject=schedule.subject,
                    intro=schedule.intro,
                    schedule_name=schedule.name,
                    now=now,
                )
            except EmptyCampaign:  # only_if_new = false and nothing at all to send
                run.outcome, run.reason = "skipped", "no posts to send"
                return Firing(schedule.name, due, "skipped", run.reason)
            except TemplateRenderError as exc:  # the schedule's subject: recorded, not retried
                run.outcome, run.reason = "skipped", f"schedule {schedule.name}: {exc}"
                return Firing(schedule.name, due, "skipped", run.reason)
            run.campaign_id = campaign.id
            return Firing(schedule.name, due, "created", campaign_id=campaign.id)
    except IntegrityError:
        return None  # another process fired this due time first


def _record(db: Database, firing: Firing) -> Firing | None:
    try:
        with db.session() as session:
            session.add(
                ScheduleRun(
                    schedule_name=firing.schedule,
                    due_at=firing.due_at,
                    outcome=firing.outcome,
                    reason=firing.reason,
                )
            )
        return firing
    except IntegrityError:
        return None


def _first_run(db: Database, name: str) -> bool:
    with db.session() as session:
        return (
            session.scalar(select(ScheduleRun.id).where(ScheduleRun.schedule_name == name)) is None
        )


def _already_ran(session: Session, name: str, due: dt.datetime) -> bool:
    return (
        session.scalar(
            select(ScheduleRun.id).where(
                ScheduleRun.schedule_name == name, ScheduleRun.due_at == due
            )
        )
        is not None
    )


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)
