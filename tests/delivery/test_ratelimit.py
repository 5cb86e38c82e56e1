"""The global send rate: one token bucket in Redis for every worker (in-process without it)."""

from __future__ import annotations

import pytest

from delivery.ratelimit import (
    LocalRateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
    throttle,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_one_second_of_messages_through_at_once() -> None:
    limiter = LocalRateLimiter(1000, clock=Clock())
    assert limiter.reserve(1000) == 0.0


def test_a_batch_beyond_the_bucket_waits_for_its_share() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(1000, clock=clock)
    limiter.reserve(1000)
    assert limiter.reserve(500) == pytest.approx(0.5)
    assert limiter.reserve(1000) == pytest.approx(1.5)  # queued behind the previous reservation
    clock.now += 1.5
    assert limiter.reserve(0) == 0.0  # the debt is paid off


def test_idle_time_never_buys_more_than_one_second_of_burst() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(100, clock=clock)
    clock.now += 3600
    assert limiter.reserve(100) == 0.0
    assert limiter.reserve(100) == pytest.approx(1.0)


def test_workers_share_one_bucket_through_redis(redis_url: str) -> None:
    first = RedisRateLimiter(redis_url, rate=200, key="test:send-rate")
    second = RedisRateLimiter(redis_url, rate=200, key="test:send-rate")
    try:
        assert first.reserve(200) == 0.0
        wait = second.reserve(100)  # the other worker emptied the bucket
        assert 0.4 <= wait <= 0.5
    finally:
        first.close()
        second.close()


def test_throttle_sleeps_for_the_reserved_wait() -> None:
    slept: list[float] = []
    limiter = LocalRateLimiter(10, clock=Clock())
    throttle(limiter, 10, sleep=slept.append)
    throttle(limiter, 5, sleep=slept.append)
    assert slept == [pytest.approx(0.5)]


def test_a_rate_of_zero_means_no_limit() -> None:
    assert make_rate_limiter(0, None) is None
    assert throttle(None, 1000) == 0.0
    assert isinstance(make_rate_limiter(50, None), LocalRateLimiter)
