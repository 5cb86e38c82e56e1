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


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process (all its threads), in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its direct children (uvicorn's
    or Celery's worker processes). On a shared machine whose speed wanders, CPU per
    unit of work moves less than a rate does, so the sections print both."""
    ticks = sum(cpu_ticks(p) for p in (pid, *children(pid)))
    return ticks / os.sysconf("SC_CLK_TCK")
