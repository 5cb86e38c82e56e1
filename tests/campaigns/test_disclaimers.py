"""Disclaimer rules: always, by tag, by keyword; crisis lines by country."""

from __future__ import annotations

from campaigns.disclaimers import PostFacts, crisis_line_for, label, matching_disclaimers
from config.site import Disclaimer

MEDICAL = Disclaimer(
    name="medical",
    version=3,
    text="General education, not medical advice.",
    when_tags=("Mental-Health",),
    when_keywords=("therapy", "sleep apnea"),
    crisis_line={"default": "Call your local emergency number.", "US": "Call or text 988."},
)
SPONSORS = Disclaimer(
    name="sponsors", version=1, text="Sponsored blocks are labelled.", always=True
)


def names(posts: list[PostFacts]) -> list[str]:
    return [d.name for d in matching_disclaimers([MEDICAL, SPONSORS], posts)]


def test_always_applies_even_to_an_empty_edition() -> None:
    assert names([]) == ["sponsors"]


def test_a_matching_tag_brings_the_disclaimer_case_insensitively() -> None:
    assert names(
        [PostFacts(tags=("cooking",), text="Soup"), PostFacts(("mental-health",), "")]
    ) == [
        "medical",
        "sponsors",
    ]


def test_keywords_match_whole_words_and_phrases() -> None:
    assert names([PostFacts((), "What Therapy can and cannot do")]) == ["medical", "sponsors"]
    assert names([PostFacts((), "Notes on sleep apnea and snoring")]) == ["medical", "sponsors"]
    assert names([PostFacts((), "Physiotherapy for runners")]) == ["sponsors"]


def test_crisis_line_is_localised_with_a_default() -> None:
    assert crisis_line_for(MEDICAL, "us") == "Call or text 988."
    assert crisis_line_for(MEDICAL, "FR") == "Call your local emergency number."
    assert crisis_line_for(MEDICAL, None) == "Call your local emergency number."
    assert crisis_line_for(SPONSORS, "US") is None


def test_label_records_name_and_version() -> None:
    assert label(MEDICAL) == "medical@3"
