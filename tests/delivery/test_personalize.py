"""Per-recipient links: the fast signer's tokens read back like make_token's, per purpose."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.personalize import LinkMaker, RecipientMaker, _signer
from subscribers.tokens import InvalidToken, Purpose, make_token, read_token

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
def test_fast_tokens_read_back_like_make_token(purpose: Purpose, payload: object) -> None:
    fast = _signer(SECRET, purpose).dumps(payload)
    assert read_token(SECRET, purpose, fast) == payload
    assert read_token(SECRET, purpose, make_token(SECRET, purpose, payload)) == payload


@pytest.mark.parametrize("purpose", list(Purpose))
def test_fast_tokens_are_bound_to_their_purpose(purpose: Purpose) -> None:
    token = _signer(SECRET, purpose).dumps([7, 3])
    for other in Purpose:
        if other is not purpose:
            with pytest.raises(InvalidToken):
                read_token(SECRET, other, token)
    with pytest.raises(InvalidToken):
        read_token("another-secret-key-0123456789abc", purpose, token)


def test_fast_tokens_expire_like_make_token() -> None:
    token = _signer(SECRET, Purpose.preferences).dumps(7)
    time.sleep(1.1)  # max_age is compared in whole seconds
    with pytest.raises(InvalidToken):
        read_token(SECRET, Purpose.preferences, token, max_age=0)


def test_links_carry_tokens_for_their_purpose() -> None:
    links = LinkMaker(base_url="https://letters.example", secret_key=SECRET)
    token = links.unsubscribe_url(7, 3).rsplit("/", 1)[1]
    assert read_token(SECRET, Purpose.unsubscribe, token) == [7, 3]
    assert read_token(SECRET, Purpose.preferences, links.preferences_url(7).rsplit("/", 1)[1]) == 7
    sponsor = links.sponsor_url(3, None, 'Calm "Co"').rsplit("/", 1)[1]
    assert read_token(SECRET, Purpose.redirect, sponsor) == [3, None, 'Calm "Co"']


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


@given(
    subscriber_id=st.integers(min_value=1, max_value=2**53),
    campaign_id=st.integers(min_value=1, max_value=2**53),
    delivery_id=st.one_of(st.none(), st.integers(min_value=1, max_value=2**53)),
    sponsor=st.text(min_size=1, max_size=80),
)
def test_a_recipients_links_read_back_as_the_payloads_they_claim(
    subscriber_id: int, campaign_id: int, delivery_id: int | None, sponsor: str
) -> None:
    links = LinkMaker(base_url="https://letters.example", secret_key=SECRET)
    recipient = RecipientMaker(links, campaign_id, sponsor).recipient(
        email="r@example.org", name=None, subscriber_id=subscriber_id,
        delivery_id=delivery_id, crisis={},
    )  # fmt: skip
    values = recipient.substitutions
    assert read_token(SECRET, Purpose.unsubscribe, token_of(values["unsubscribe_url"])) == [
        subscriber_id,
        campaign_id,
    ]
    assert read_token(SECRET, Purpose.preferences, token_of(values["preferences_url"])) == (
        subscriber_id
    )
    assert read_token(SECRET, Purpose.redirect, token_of(values["sponsor_url"])) == [
        campaign_id,
        delivery_id,
        sponsor,
    ]
    assert recipient.headers["List-Unsubscribe"] == f"<{values['unsubscribe_url']}>"


def test_a_copy_without_a_sponsor_has_no_sponsor_link() -> None:
    links = LinkMaker(base_url="https://letters.example", secret_key=SECRET)
    recipient = RecipientMaker(links, 3, None).recipient(
        email="r@example.org", name=None, subscriber_id=7, delivery_id=11, crisis={}
    )
    assert "sponsor_url" not in recipient.substitutions
