from __future__ import annotations

import redis

from subscribers.ratelimit import MemoryRateLimiter, RedisRateLimiter, Unlimited, make_rate_limiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_in_process_limit_allows_the_limit_then_refuses_until_the_window_ends() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(3, window=60, clock=clock)
    assert [limiter.hit("ip:1").allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("ip:2").allowed, "another client has its own count"
    refused = limiter.hit("ip:1")
    assert not refused.allowed and 1 <= refused.retry_after <= 60
    clock.now += 60
    assert limiter.hit("ip:1").allowed


def test_the_redis_limit_is_shared_between_limiters(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    first = RedisRateLimiter(client, 2, window=60, prefix="test:rl")
    second = RedisRateLimiter(client, 2, window=60, prefix="test:rl")
    assert first.hit("ip:9").allowed
    assert second.hit("ip:9").allowed
    refused = first.hit("ip:9")
    assert not refused.allowed and refused.retry_after >= 1
    client.close()


def test_the_setting_chooses_the_limiter(redis_url: str) -> None:
    assert isinstance(make_rate_limiter(0, redis_url), Unlimited)
    assert isinstance(make_rate_limiter(5, None), MemoryRateLimiter)
    assert isinstance(make_rate_limiter(5, redis_url), RedisRateLimiter)
