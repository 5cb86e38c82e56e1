"""Per-recipient links: the fast signer makes the very tokens make_token makes."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.personalize import LinkMaker, _signer
from subscribers.tokens import Purpose, make_token, read_token

SECRET = "test-secret-key-0123456789abcdef"
payloads = st.one_of(
    st.integers(min_value=0, max_value=2**53),
    st.lists(
        st.one_of(st.integers(min_value=0, max_value=2**40), st.none(), st.text(max_size=80)),
        max_size=4,
    ),
)


@pytest.mark.parametrize("purpose", list(Purpose))
@given(payload=payloads)
def test_fast_tokens_equal_make_token_and_read_back(purpose: Purpose, payload: object) -> None:
    for _ in range(3):  # the two calls may straddle a second boundary: try again
        second = int(time.time())
        fast = _signer(SECRET, purpose).dumps(payload)
        slow = make_token(SECRET, purpose, payload)
        if int(time.time()) == second:
            break
    assert fast == slow
    assert read_token(SECRET, purpose, fast) == payload


def test_links_carry_tokens_for_their_purpose() -> None:
    links = LinkMaker(base_url="https://letters.example", secret_key=SECRET)
    token = links.unsubscribe_url(7, 3).rsplit("/", 1)[1]
    assert read_token(SECRET, Purpose.unsubscribe, token) == [7, 3]
    assert read_token(SECRET, Purpose.preferences, links.preferences_url(7).rsplit("/", 1)[1]) == 7
    sponsor = links.sponsor_url(3, 11, "Calm Co").rsplit("/", 1)[1]
    assert read_token(SECRET, Purpose.redirect, sponsor) == [3, 11, "Calm Co"]
