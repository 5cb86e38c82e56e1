"""What every benchmark section returns: figures with their targets."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


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
