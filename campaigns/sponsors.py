"""Which sponsor blocks an edition may carry: flight dates, audience lists, weighted rotation."""

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


def sponsor_order(
    sponsors: Sequence[Sponsor], lists: Sequence[str], seed: str, day: dt.date
) -> list[Sponsor]:
    """Every sponsor a campaign may show, best first: paid ones in rotation, then the house ad.

    A sold dated slot (the sponsor desk's `BookedSponsor` with a `slot_id`) is what
    that day's edition was sold with, so slot bookings lead, before any flight.
    """
    house = house_ad(sponsors, day)
    paid = eligible_sponsors(sponsors, lists, day)
    slots = [s for s in paid if getattr(s, "slot_id", None) is not None]
    flights = [s for s in paid if getattr(s, "slot_id", None) is None]
    return [*rotate(slots, seed), *rotate(flights, seed), *([house] if house else [])]


def reaches(sponsor: Sponsor, subscriber_lists: set[str], campaign_lists: Sequence[str]) -> bool:
    """A sponsor with audience lists is shown only to members of one of them."""
    if not sponsor.lists:
        return True
    return bool(subscriber_lists & set(sponsor.lists) & set(campaign_lists))


def by_name(sponsors: Sequence[Sponsor], name: str | None) -> Sponsor | None:
    return next((s for s in sponsors if s.name == name), None) if name else None
