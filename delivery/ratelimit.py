"""A global send rate: a token bucket shared by every worker through Redis.

`reserve(n)` takes n tokens at once and returns how long the caller must wait
before sending. The balance may go negative: a batch reserves its place in
line and the next caller waits for the debt too, so workers are served in
arrival order and the long-run rate never exceeds `rate` messages/second.
The bucket holds at most one second of tokens, so an idle period cannot be
spent as a burst larger than one second's worth.

Without Redis (embedded mode) the same arithmetic runs in-process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

BUCKET_KEY = "broadsheet:send-rate"

# Redis' own clock is used so that workers with skewed clocks still agree.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate) - n
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class RateLimiter(Protocol):
    def reserve(self, n: int) -> float:
        """Take n tokens; the seconds to wait before using them."""
        ...


class RedisRateLimiter:
    def __init__(self, redis_url: str, rate: float, key: str = BUCKET_KEY) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.key = key
        self._client = redis.Redis.from_url(redis_url)
        self._script = self._client.register_script(_RESERVE)

    def reserve(self, n: int) -> float:
        wait = self._script(keys=[self.key], args=[self.rate, self.rate, n])
        return float(wait)

    def close(self) -> None:
        self._client.close()


class LocalRateLimiter:
    """The same bucket for one process (embedded mode has one process)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._tokens = rate
        self._ts = clock()
        self._lock = threading.Lock()

    def reserve(self, n: int) -> float:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.rate, self._tokens + (now - self._ts) * self.rate) - n
            self._ts = now
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


def make_rate_limiter(rate: float, redis_url: str | None) -> RateLimiter | None:
    """None when unlimited (rate 0)."""
    if rate <= 0:
        return None
    return RedisRateLimiter(redis_url, rate) if redis_url else LocalRateLimiter(rate)


def throttle(
    limiter: RateLimiter | None, n: int, sleep: Callable[[float], None] = time.sleep
) -> float:
    """Wait until n messages may go out; returns the time waited."""
    if limiter is None or n <= 0:
        return 0.0
    wait = limiter.reserve(n)
    if wait > 0:
        sleep(wait)
    return wait
