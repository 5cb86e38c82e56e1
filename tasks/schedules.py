"""Schedule tasks: beat runs `run_schedules` every few seconds (SCHEDULE_TICK).

A tick polls the feeds that are due first, then fires the due schedules, so a
digest that falls in a tick sees what that tick's polls found. A poll that
stores a post which can be mailed later (its hold window) hands it to the
instant schedules for the moment the hold ends: a Celery ETA with a broker,
the embedded beat's wake-up list without one. The next tick would find it
too; the hand-off only saves waiting for that tick.
"""

from __future__ import annotations

import datetime as dt
import logging

from campaigns.schedules import Firing, run_due
from config.runtime import Runtime, get_runtime
from content.polling import PollReport, poll_due
from db.models import utcnow
from tasks.app import celery_app
from tasks.sending import send_campaign

log = logging.getLogger(__name__)

RUN_INSTANT_TASK = "tasks.schedules.run_instant"


@celery_app.task(name="tasks.schedules.run_schedules")
def run_schedules(poll: bool = True) -> list[dict[str, object]]:
    """Poll due feeds (unless `poll` is False), then fire due schedules; each campaign
    made is sent (enqueued after its commit)."""
    rt = get_runtime()
    if poll:
        poll_and_hand_off(rt)
    return _send(run_due(rt.db, rt.site))


@celery_app.task(name=RUN_INSTANT_TASK)
def run_instant() -> list[dict[str, object]]:
    """Fire the instant schedules only: a hold window has just ended."""
    rt = get_runtime()
    return _send(run_due(rt.db, rt.site, kinds=("instant",)))


def poll_and_hand_off(rt: Runtime) -> list[PollReport]:
    """Poll the feeds that are due; posts whose hold ends later are handed off."""
    reports = poll_due(rt.db, rt.site)
    now = utcnow()
    for report in reports:
        if report.stored.backlog:
            log.info("feed %s: %s", report.feed, report.first_poll_note())
        when = report.stored.mailable_at
        if when is not None and when > now:
            hand_off(when)
    return reports


def hand_off(when: dt.datetime) -> None:
    """Run the instant schedules at `when`, not at the first tick after it."""
    if celery_app.conf.task_always_eager:
        from tasks.embedded import wake_at  # eager Celery ignores ETAs

        wake_at(when, RUN_INSTANT_TASK)
    else:
        run_instant.apply_async(eta=when)


def _send(firings: list[Firing]) -> list[dict[str, object]]:
    for firing in firings:
        if firing.campaign_id is not None:
            log.info(
                "schedule %s: created campaign %s, sending", firing.schedule, firing.campaign_id
            )
            send_campaign.delay(firing.campaign_id)
        else:
            log.info("schedule %s: %s (%s)", firing.schedule, firing.outcome, firing.reason)
    return [
        {
            "schedule": f.schedule,
            "outcome": f.outcome,
            "reason": f.reason,
            "campaign_id": f.campaign_id,
        }
        for f in firings
    ]
