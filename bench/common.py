"""What every benchmark section returns: figures with their targets."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

# The checkout the benchmarks run from: their child processes start there.
REPO_ROOT = Path(__file__).resolve().parent.parent

# Benchmarks flush the Redis database they use: their own (14), not the tests' (15),
# so that a benchmark and a test run can share a Redis server.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    # "min": value must be at least target; "max": at most target.
    direction: Literal["min", "max"] = "min"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.direction == "min" else self.value <= self.target

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "met": self.met}
