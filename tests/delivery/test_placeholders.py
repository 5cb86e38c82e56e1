from __future__ import annotations

import pytest

from delivery.placeholders import FillTemplate, fill, placeholder, strip_placeholders


def test_fill_replaces_every_placeholder() -> None:
    template = f"<a href='{placeholder('u')}'>x</a> {placeholder('u')} {placeholder('name')}"
    assert fill(template, {"u": "U", "name": "N"}) == "<a href='U'>x</a> U N"


def test_a_value_cannot_introduce_another_placeholder() -> None:
    template = FillTemplate.compile(f"{placeholder('name')} {placeholder('unsubscribe_url')}")
    out = template.fill({"name": "[%unsubscribe_url%]", "unsubscribe_url": "https://u/1"})
    assert out == "[%unsubscribe_url%] https://u/1"


def test_a_missing_value_raises_naming_the_key() -> None:
    with pytest.raises(KeyError, match="preferences_url"):
        fill(placeholder("preferences_url"), {})


def test_untrusted_text_cannot_carry_placeholders() -> None:
    cleaned = strip_placeholders("click [%unsubscribe_url%] now")
    assert FillTemplate.compile(cleaned).keys == frozenset()
