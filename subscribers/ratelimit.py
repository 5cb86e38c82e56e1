"""Rate limits for public forms: a fixed window per key, in Redis or in this process.

With Redis every web process shares the count; without it (embedded mode) the
count lives in memory, which is right for a single process.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until the window resets (0 when allowed)


class RateLimiter(Protocol):
    def hit(self, key: str) -> Decision:
        """Count one attempt for `key` and say whether it is within the limit."""
        ...


@dataclass
class Unlimited:
    """The limit turned off (SUBSCRIBE_RATE_LIMIT=0)."""

    def hit(self, key: str) -> Decision:
        return Decision(True, 0)


class MemoryRateLimiter:
    def __init__(
        self, limit: int, window: int = 60, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window number, count)
        self._lock = threading.Lock()

    def hit(self, key: str) -> Decision:
        now = self._clock()
        current = int(now // self.window)
        with self._lock:
            seen, count = self._counts.get(key, (current, 0))
            count = count + 1 if seen == current else 1
            self._counts[key] = (current, count)
            if len(self._counts) > 100_000:
                # Old windows are worthless; dropping them keeps memory bounded.
                self._counts = {k: v for k, v in self._counts.items() if v[0] == current}
        if count <= self.limit:
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil((current + 1) * self.window - now)))


class RedisRateLimiter:
    def __init__(
        self, client: redis.Redis, limit: int, window: int = 60, prefix: str = "broadsheet:rl"
    ) -> None:
        self.client = client
        self.limit = limit
        self.window = window
        self.prefix = prefix

    def hit(self, key: str) -> Decision:
        now = time.time()
        current = int(now // self.window)
        name = f"{self.prefix}:{key}:{current}"
        pipe = self.client.pipeline()
        pipe.incr(name)
        pipe.expire(name, self.window + 1)
        count, _ = pipe.execute()
        if int(count) <= self.limit:
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil((current + 1) * self.window - now)))


def make_rate_limiter(limit: int, redis_url: str | None, window: int = 60) -> RateLimiter:
    if limit <= 0:
        return Unlimited()
    if redis_url:
        return RedisRateLimiter(redis.Redis.from_url(redis_url), limit, window)
    return MemoryRateLimiter(limit, window)
