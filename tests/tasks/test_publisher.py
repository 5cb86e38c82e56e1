"""The publisher: task calls queued in memory reach the real broker, each as its own message."""

from __future__ import annotations

import json
import time

import redis
from celery import Task

from config.settings import Settings
from tasks.app import make_celery
from tasks.publisher import Publisher


def queued_calls(redis_url: str) -> list[tuple[str, str]]:
    """(task name, arguments) of every message waiting in Celery's default queue."""
    client = redis.Redis.from_url(redis_url)
    raw = client.lrange("celery", 0, -1)
    client.close()
    headers = [json.loads(message)["headers"] for message in reversed(raw)]
    return [(h["task"], h["argsrepr"]) for h in headers]


def echo_task(settings: Settings, redis_url: str) -> Task:
    """A task of an app on the real broker; only its messages are looked at."""
    app = make_celery(settings.model_copy(update={"redis_url": redis_url}))

    @app.task(name="tests.echo")
    def echo(n: int) -> int:
        return n

    return echo


def test_every_queued_call_becomes_one_task_message_in_order(
    settings: Settings, redis_url: str
) -> None:
    publisher = Publisher(echo_task(settings, redis_url))
    for n in range(1200):  # more than one pipeline's worth
        publisher.put(n)
    publisher.close()  # publishes whatever is still queued
    assert queued_calls(redis_url) == [("tests.echo", f"({n},)") for n in range(1200)]


def test_calls_after_an_idle_spell_are_published_without_closing(
    settings: Settings, redis_url: str
) -> None:
    publisher = Publisher(echo_task(settings, redis_url))
    publisher.put(1)
    deadline = time.monotonic() + 5
    while not queued_calls(redis_url) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queued_calls(redis_url) == [("tests.echo", "(1,)")]
    publisher.close()
