"""Which sponsor block goes into an edition: flight dates, audience lists, weighted rotation."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from config.site import Sponsor


def eligible_sponsors(
    sponsors: Sequence[Sponsor], lists: Sequence[str], day: dt.date
) -> list[Sponsor]:
    """Paid sponsors in flight whose audience overlaps the campaign's lists."""
    wanted = set(lists)
    return [
        s
        for s in sponsors
        if not s.house and s.in_flight(day) and (not s.lists or wanted & set(s.lists))
    ]


def house_ad(sponsors: Sequence[Sponsor], day: dt.date) -> Sponsor | None:
    return next((s for s in sponsors if s.house and s.in_flight(day)), None)


def rotate(candidates: Sequence[Sponsor], seed: str) -> list[Sponsor]:
    """Candidates in a weighted order that is stable for a seed (e.g. the campaign id).

    Each sponsor draws a key u**(1/weight) from a hash of (seed, name) and the
    highest key goes first (Efraimidis-Spirakis): over many campaigns each
    sponsor leads in proportion to its weight, and re-rendering one campaign
    always gives the same order.
    """

    def key(sponsor: Sponsor) -> float:
        digest = hashlib.sha256(f"{seed}:{sponsor.name}".encode()).digest()
        u = (int.from_bytes(digest[:8], "big") + 1) / (2**64 + 2)
        return float(u ** (1.0 / sponsor.weight))

    return sorted(candidates, key=key, reverse=True)
