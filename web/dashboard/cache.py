"""A short-lived per-process cache for the dashboard's aggregate reads.

Counting a million subscribers or a large campaign's ledger takes longer than
an admin page may; these figures change slowly, so each is computed at most
once per TTL seconds per process. Pages say "as of" with the time computed.
Never used for anything a decision depends on (sending, consent).
`configure` caps every TTL (ADMIN_CACHE_SECONDS; 0 turns the cache off, which
is how the benchmark measures pages). Figures kept across processes and
restarts are web/dashboard/figures.py's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
TTL_SECONDS = 30.0

_entries: dict[Hashable, tuple[float, Any]] = {}
_lock = threading.Lock()
_max_ttl = TTL_SECONDS


def configure(max_seconds: float) -> None:
    """Cap every entry's TTL (the app does it from ADMIN_CACHE_SECONDS); 0 = no cache."""
    global _max_ttl
    _max_ttl = max_seconds


def cached(key: Hashable, compute: Callable[[], T], ttl: float = TTL_SECONDS) -> T:
    ttl = min(ttl, _max_ttl)
    if ttl <= 0:
        return compute()
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    value = compute()
    with _lock:
        _entries[key] = (now, value)
        if len(_entries) > 1000:
            # Old entries are worthless; dropping them keeps memory bounded.
            for stale in [k for k, (at, _) in _entries.items() if now - at >= ttl]:
                del _entries[stale]
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
