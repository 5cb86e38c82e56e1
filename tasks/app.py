"""The Celery app. With REDIS_URL it uses Redis; without, tasks run in-process (eager)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Celery
from celery.signals import worker_process_init, worker_ready

from config.settings import Settings
from config.startup import freeze_startup_objects, settings_or_exit


def make_celery(settings: Settings) -> Celery:
    app = Celery(
        "broadsheet",
        include=[
            "tasks.sending",
            "tasks.schedules",
            "tasks.feeds",
            "tasks.events",
            "tasks.subscribers",
            "tasks.sponsors",
        ],
    )
    common = {
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "timezone": "UTC",
        # A task is acknowledged only after it finishes, and a worker killed
        # mid-task puts it back on the queue: the ledger makes re-runs safe.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "beat_schedule": beat_schedule(),
    }
    if settings.redis_url:
        app.conf.update(
            broker_url=settings.redis_url,
            result_backend=None,
            # Longer than the slowest task, else Redis hands an unacked task to a second worker.
            broker_transport_options={"visibility_timeout": 3600},
            **common,
        )
    else:
        app.conf.update(
            broker_url="memory://",
            task_always_eager=True,
            task_eager_propagates=True,
            **common,
        )
    return app


# How often beat asks "is a feed or a schedule due?". Each task decides from the
# database what is due, so a short tick costs a query or two, and a feed due at
# 12:00:03 is polled by 12:00:08 rather than a whole minute later.
SCHEDULE_TICK = timedelta(seconds=5)


def beat_schedule() -> dict[str, dict[str, object]]:
    """Periodic work. Each task itself decides what is due, so ticks can be frequent.

    Feeds are polled inside `run_schedules`, before the schedules are looked at,
    so a digest due in a tick sees the posts that tick's polls found.
    """
    return {
        "run-schedules": {"task": "tasks.schedules.run_schedules", "schedule": SCHEDULE_TICK},
        "reconcile-feedback": {"task": "tasks.events.reconcile", "schedule": timedelta(minutes=2)},
        "refresh-figures": {
            "task": "tasks.events.refresh_figures",
            "schedule": timedelta(minutes=1),
        },
        "sweep-sending": {"task": "tasks.sending.sweep", "schedule": timedelta(minutes=1)},
        "retain-ledger": {"task": "tasks.sending.retain_ledger", "schedule": timedelta(hours=1)},
        "sweep-confirmations": {
            "task": "tasks.subscribers.sweep_confirmations",
            "schedule": timedelta(minutes=1),
        },
        "settle-bookings": {
            "task": "tasks.sponsors.settle_bookings",
            "schedule": timedelta(minutes=10),
        },
    }


# Ticks that did nothing are not news: without this, beat and the worker wrote
# three lines per periodic task and tick (sent, received, succeeded: []), one
# every few seconds, burying what happened. A tick that did something (a
# non-empty result) or failed (logged above INFO) is still logged.
QUIET_TICKS = frozenset(str(entry["task"]) for entry in beat_schedule().values())
NOTHING_DONE = ("[]", "None", "0", "{}", "()")


class _QuietTicks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        args = record.args
        if isinstance(args, dict) and args.get("name") in QUIET_TICKS:
            # Celery's "received" line has no return value; "succeeded" has its repr.
            return args.get("return_value", "[]") not in NOTHING_DONE
        # beat's "Scheduler: Sending due task %s (%s)" has the task's name second.
        return not (isinstance(args, tuple) and len(args) == 2 and args[1] in QUIET_TICKS)


for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(_QuietTicks())


@worker_ready.connect
@worker_process_init.connect
def _freeze_startup_objects(**_: object) -> None:
    freeze_startup_objects()


celery_app = make_celery(settings_or_exit())  # a bad setting: one line, not a traceback
