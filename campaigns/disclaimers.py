"""Which disclaimers an edition carries: always, or when a post's tags or words match."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from config.site import Disclaimer


@dataclass(frozen=True)
class PostFacts:
    """What the rules look at, independent of the ORM."""

    tags: tuple[str, ...]
    text: str


def matching_disclaimers(
    disclaimers: Sequence[Disclaimer], posts: Sequence[PostFacts]
) -> list[Disclaimer]:
    return [d for d in disclaimers if _applies(d, posts)]


def _applies(disclaimer: Disclaimer, posts: Sequence[PostFacts]) -> bool:
    if disclaimer.always:
        return True
    wanted_tags = {t.lower() for t in disclaimer.when_tags}
    for post in posts:
        if wanted_tags & {t.lower() for t in post.tags}:
            return True
        for keyword in disclaimer.when_keywords:
            if re.search(rf"\b{re.escape(keyword)}\b", post.text, flags=re.IGNORECASE):
                return True
    return False


def crisis_line_for(disclaimer: Disclaimer, country: str | None) -> str | None:
    """The crisis line for a subscriber's country, else the default."""
    if not disclaimer.crisis_line:
        return None
    if country and country.upper() in disclaimer.crisis_line:
        return disclaimer.crisis_line[country.upper()]
    return disclaimer.crisis_line["default"]


def label(disclaimer: Disclaimer) -> str:
    """How a delivery records which version it carried."""
    return f"{disclaimer.name}@{disclaimer.version}"
