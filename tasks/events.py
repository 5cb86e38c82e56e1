"""Feedback tasks: apply stored SendGrid events, reconcile, deliver outgoing hooks, keep
finished campaigns' admin figures computed.

Thin adapters over feedback/. Arguments are ids and plain data; everything is
enqueued only after the transaction that produced it has committed.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import httpx
from celery import Task
from sqlalchemy.exc import OperationalError

from config.runtime import get_runtime
from feedback import hooks
from feedback.apply import Applied, Rules, apply_events, pending_ids, set_aside
from feedback.figures import refresh_due
from feedback.reconcile import Policy, reconcile
from tasks.app import celery_app

log = logging.getLogger(__name__)

SEND_BATCH_TASK = "tasks.sending.send_batch"
MAX_HOOK_RETRIES = 8
SWEEP_BATCHES = 50  # up to 50,000 leftover events per sweep; the next sweep takes the rest


@celery_app.task(name="tasks.events.process_events", bind=True, max_retries=5)
def process_events(self: Task, event_ids: list[int]) -> dict[str, int]:
    """Apply the events one webhook call stored."""
    try:
        applied = _apply(event_ids)
    except OperationalError as exc:
        # A deadlock or a locked database: the claim rolled back, so retrying is safe,
        # and the periodic sweep takes the events if every retry fails.
        raise self.retry(exc=exc, countdown=random.uniform(1, 5)) from exc
    return {"processed": applied.processed, "suppressed": applied.suppressed}


@celery_app.task(name="tasks.events.reconcile")
def reconcile_feedback() -> dict[str, int]:
    """Periodic: apply events left pending, then settle uncertain deliveries."""
    processed = _sweep()
    rt = get_runtime()
    with rt.db.session() as session:
        result = reconcile(session, Policy.from_settings(rt.settings))
    for campaign_id, delivery_ids in result.batches():
        send_by_name(SEND_BATCH_TASK, campaign_id, delivery_ids)
    if result.resent or result.held or result.confirmed:
        log.info(
            "reconciled: %d confirmed, %d re-sent, %d held",
            result.confirmed,
            result.resent,
            result.held,
        )
    return {
        "processed": processed,
        "confirmed": result.confirmed,
        "resent": result.resent,
        "held": result.held,
    }


def _sweep() -> int:
    """Apply pending events batch by batch; a batch that fails is retried event by event."""
    processed = 0
    for _ in range(SWEEP_BATCHES):
        try:
            count = _apply(None).processed
        except OperationalError:
            raise  # the database itself is in trouble: the next sweep tries again
        except Exception:
            log.exception("a batch of pending events failed; applying them one at a time")
            count = _apply_one_at_a_time()
        processed += count
        if not count:
            break
    return processed


def _apply_one_at_a_time() -> int:
    rt = get_runtime()
    with rt.db.session() as session:
        ids = pending_ids(session)
    for event_id in ids:
        try:
            _apply([event_id])
        except OperationalError:
            raise
        except Exception:
            # One bad row must not stop every event behind it, sweep after sweep.
            log.exception("event %d cannot be applied; set aside", event_id)
            with rt.db.session() as session:
                set_aside(session, event_id)
    return len(ids)


def _apply(event_ids: list[int] | None) -> Applied:
    rt = get_runtime()
    with rt.db.session() as session:
        applied = apply_events(session, Rules.from_settings(rt.settings), event_ids)
        calls = hooks.unsubscribe_calls(session, rt.site, applied.unsubscribed)
    enqueue_hooks(calls)
    return applied


def send_by_name(name: str, *args: Any) -> None:
    """Enqueue a task of another area by its name, without importing that area.

    In embedded mode (eager) the task must run in-process, which `send_task`
    never does, so the registered task is looked up and applied instead.
    """
    if celery_app.conf.task_always_eager:
        celery_app.loader.import_default_modules()
        celery_app.tasks[name].apply_async(args=args)
    else:
        celery_app.send_task(name, args=args)


def send_hooks(kind: hooks.HookKind, data: dict[str, Any]) -> None:
    """For other areas (after their commit): notify every hook that asked for `kind`."""
    enqueue_hooks(hooks.calls_for(get_runtime().site, kind, data))


def enqueue_hooks(calls: list[hooks.HookCall]) -> None:
    for call in calls:
        deliver_hook.delay(call.url, call.kind, call.body)


@celery_app.task(name="tasks.events.deliver_hook", bind=True, max_retries=MAX_HOOK_RETRIES)
def deliver_hook(self: Task, url: str, kind: str, body: str) -> int | None:
    """POST one signed hook event, retrying with back-off while retrying can help."""
    hook = hooks.find_hook(get_runtime().site, url, kind)
    if hook is None:
        log.warning("%s hook to %s dropped: no longer in the site file", kind, url)
        return None
    try:
        with httpx.Client() as client:
            return hooks.post(client, hook, hooks.HookCall(url, kind, body))
    except hooks.HookFailed as exc:
        # Eager (embedded) mode has no queue to wait in: one attempt, then a log line.
        if not exc.retry or self.request.is_eager or self.request.retries >= self.max_retries:
            log.warning("%s; giving up", exc)
            return None
        delay = min(3600.0, 2.0 ** (self.request.retries + 2)) * random.uniform(0.5, 1.5)
        raise self.retry(exc=exc, countdown=delay) from exc


@celery_app.task(name="tasks.events.refresh_figures")
def refresh_figures() -> int:
    """Every minute: keep recently finished campaigns' counts and reports computed
    (feedback/figures.py), so the admin's first view of them reads, not scans."""
    return refresh_due(get_runtime().db)
