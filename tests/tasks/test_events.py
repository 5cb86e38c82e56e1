"""Feedback tasks in a real Celery worker on the real Redis server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.resources import SITE_EXAMPLE
from config.runtime import Runtime
from config.settings import Settings
from db.models import Event, PendingEvent, Subscriber, SubscriberStatus, utcnow
from feedback import hooks
from feedback.events import parse_events, store_events
from subscribers.addresses import email_hash
from tasks.app import make_celery
from tasks.events import reconcile_feedback
from tests.support.processes import settings_env, start_worker, stop, wait_for
from tests.support.receiver import Receiver, receiver
from tests.support.sendgrid_events import add_people, event

SECRET = "worker-hook-secret-0123456789"


@pytest.fixture
def hook_server() -> Iterator[Receiver]:
    with receiver([503]) as server:  # the first attempt fails, the retry succeeds
        yield server


@pytest.fixture
def worker_settings(settings: Settings, tmp_path: Path, hook_server: Receiver) -> Settings:
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        (SITE_EXAMPLE).read_text()
        + f'\n[[hooks]]\nurl = "{hook_server.url}"\nsecret = "{SECRET}"\n'
    )
    return settings.model_copy(update={"site_config": site_file})


@pytest.fixture
def worker(worker_settings: Settings, redis_url: str, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    process = start_worker(settings_env(worker_settings, redis_url), log, concurrency=1)
    yield log
    stop(process)


def test_a_worker_applies_stored_events_and_retries_a_failing_hook(
    runtime: Runtime,
    worker_settings: Settings,
    redis_url: str,
    worker: Path,
    hook_server: Receiver,
) -> None:
    add_people(runtime, ["ada@example.org"])
    with runtime.db.session() as session:
        ids = store_events(session, parse_events([event("unsubscribe", "ada@example.org")]).rows)
    broker = make_celery(worker_settings.model_copy(update={"redis_url": redis_url}))
    broker.send_task("tasks.events.process_events", args=[ids.new_ids])

    def unsubscribed() -> bool:
        with runtime.db.session() as session:
            status = session.scalar(select(Subscriber.status))
            pending = session.scalar(select(func.count()).where(Event.processed_at.is_(None)))
            return status is SubscriberStatus.unsubscribed and pending == 0

    try:
        wait_for(unsubscribed, timeout=60, what="the event applied by the worker")
        wait_for(lambda: len(hook_server.requests) == 2, timeout=60, what="the hook retried")
    except AssertionError:
        raise AssertionError(worker.read_text()[-3000:]) from None
    first, second = hook_server.requests
    assert first.body == second.body  # the same event id on every attempt
    assert all(hooks.verify(SECRET, r.body, r.headers) for r in (first, second))
    assert json.loads(second.body)["data"]["email"] == "ada@example.org"


def test_the_sweep_sets_aside_an_event_it_cannot_apply_and_applies_the_rest(
    runtime: Runtime,
) -> None:
    add_people(runtime, ["ada@example.org", "ben@example.org"])
    with runtime.db.session() as session:
        # A row no version of the webhook writes: a bounce whose payload is not an object.
        hand_written = Event(
            provider_event_id="written-by-hand",
            type="bounce",
            email_hash=email_hash("ada@example.org"),
            payload=[1, 2],  # type: ignore[arg-type]
            occurred_at=utcnow(),
        )
        session.add(hand_written)
        session.flush()
        session.add(PendingEvent(event_id=hand_written.id))  # as store_events queues it
        store_events(session, parse_events([event("unsubscribe", "ben@example.org")]).rows)
    result = reconcile_feedback.apply().get()
    assert result["processed"] == 2
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).where(Event.processed_at.is_(None))) == 0
        statuses = dict(session.execute(select(Subscriber.email, Subscriber.status)).all())
    assert statuses == {
        "ada@example.org": SubscriberStatus.confirmed,
        "ben@example.org": SubscriberStatus.unsubscribed,
    }
    assert reconcile_feedback.apply().get()["processed"] == 0
