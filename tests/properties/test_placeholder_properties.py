"""Properties of per-recipient filling: nobody sees another recipient's values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.placeholders import FillTemplate, placeholder

KEYS = ["unsubscribe_url", "preferences_url", "sponsor_url", "crisis_medical"]

# Literal text never contains "[%" here, so the split points are known exactly.
literal = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="[%"), max_size=40
)
template_parts = st.lists(st.one_of(literal, st.sampled_from(KEYS).map(placeholder)), max_size=30)
# Values may themselves look like placeholders or contain another recipient's token.
value = st.text(min_size=1, max_size=30) | st.sampled_from(KEYS).map(placeholder)


@settings(max_examples=300)
@given(
    parts=template_parts,
    values=st.lists(st.fixed_dictionaries({k: value for k in KEYS}), min_size=2, max_size=5),
)
def test_each_recipient_sees_only_their_own_values(
    parts: list[str], values: list[dict[str, str]]
) -> None:
    template = FillTemplate.compile("".join(parts))
    for n, recipient in enumerate(values):
        tagged = {k: f"<r{n}:{v}>" for k, v in recipient.items()}
        out = template.fill(tagged)
        for other in range(len(values)):
            if other != n:
                assert f"<r{other}:" not in out


@settings(max_examples=300)
@given(parts=template_parts, values=st.fixed_dictionaries({k: value for k in KEYS}))
def test_filling_is_the_same_as_replacing_each_placeholder_once(
    parts: list[str], values: dict[str, str]
) -> None:
    # The reference: substitute part by part, so a filled value is never scanned again.
    expected = "".join(values[p[2:-2]] if p in {placeholder(k) for k in KEYS} else p for p in parts)
    assert FillTemplate.compile("".join(parts)).fill(values) == expected
