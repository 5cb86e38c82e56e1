"""Per-recipient placeholders: rendered once as `[%key%]`, filled at send time.

A template is split into literal chunks and keys once; filling is a single
join, so a value can never introduce another placeholder (a subscriber named
`[%unsubscribe_url%]` stays literal) and the cost per recipient is one copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\[%([a-z][a-z0-9_]*)%\]")


def placeholder(key: str) -> str:
    return f"[%{key}%]"


@dataclass(frozen=True, slots=True)
class FillTemplate:
    """A string pre-split at its placeholders: even indexes are literals, odd are keys."""

    parts: tuple[str, ...]

    @classmethod
    def compile(cls, template: str) -> FillTemplate:
        return cls(tuple(PLACEHOLDER.split(template)))

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.parts[1::2])

    def fill(self, values: Mapping[str, str]) -> str:
        parts = list(self.parts)
        for i in range(1, len(parts), 2):
            parts[i] = values[parts[i]]
        return "".join(parts)


def fill(template: str, values: Mapping[str, str]) -> str:
    """One-off fill; raises KeyError naming a placeholder that has no value."""
    return FillTemplate.compile(template).fill(values)


def strip_placeholders(text: str) -> str:
    """Defuse placeholder syntax in untrusted text (feed content, names)."""
    return PLACEHOLDER.sub(lambda m: f"[% {m.group(1)} %]", text)
