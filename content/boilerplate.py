"""Recurring boilerplate in video descriptions: found by counting, removed from summaries.

Creators end every description with the same block: promo links, "support
the channel on…", a sign-up line, this month's sponsor read. Such a line says
nothing about this video, and sponsor reads and disclaimers come from the site
file's blocks instead. The rule is deliberately simple so that anyone can
predict it: after normalising case and spacing, a line that appears in
`MIN_POSTS` or more of the descriptions in the window (this poll's videos plus
the feed's `WINDOW` most recent stored ones) is boilerplate. No line is judged
by its wording, only by its recurrence, so nothing a creator writes once is
ever lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

MIN_POSTS = 2  # in how many descriptions a line must appear to count as boilerplate
WINDOW = 20  # how many of the feed's stored videos are compared with a new poll


def normalise(line: str) -> str:
    return " ".join(line.casefold().split())


def recurring_lines(
    descriptions: Iterable[Sequence[str]], min_posts: int = MIN_POSTS
) -> Counter[str]:
    """Normalised lines found in at least `min_posts` descriptions, with their counts."""
    counts: Counter[str] = Counter()
    for lines in descriptions:
        counts.update({normalise(line) for line in lines if line.strip()})
    return Counter({line: n for line, n in counts.items() if n >= min_posts})


def without_boilerplate(lines: Sequence[str], boilerplate: Counter[str] | set[str]) -> list[str]:
    return [line for line in lines if normalise(line) not in boilerplate]
