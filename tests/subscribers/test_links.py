from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from subscribers.links import (
    confirm_token,
    read_confirm_token,
    read_preferences_token,
    read_unsubscribe_token,
)
from subscribers.tokens import InvalidToken, Purpose, make_token, read_token

SECRET = "links-test-secret-0123456789abcdef"


def test_a_confirm_token_round_trips() -> None:
    token = confirm_token(SECRET, 42, "ab" * 32)
    assert read_confirm_token(SECRET, token) == (42, "ab" * 8)


def test_a_forged_token_is_refused() -> None:
    forged = URLSafeTimedSerializer("someone-elses-key", salt=Purpose.unsubscribe.value).dumps(
        [1, None]
    )
    with pytest.raises(InvalidToken, match="not valid"):
        read_unsubscribe_token(SECRET, forged)


def test_a_tampered_token_is_refused() -> None:
    token = make_token(SECRET, Purpose.preferences, 7)
    with pytest.raises(InvalidToken):
        read_preferences_token(SECRET, "x" + token[1:])


def test_a_token_for_another_purpose_is_refused() -> None:
    confirm = confirm_token(SECRET, 5, "cd" * 32)
    with pytest.raises(InvalidToken):
        read_unsubscribe_token(SECRET, confirm)
    with pytest.raises(InvalidToken):
        read_preferences_token(SECRET, make_token(SECRET, Purpose.unsubscribe, [5, 1]))


def test_an_expired_token_is_refused() -> None:
    token = make_token(SECRET, Purpose.confirm, [5, "cd"])
    time.sleep(1.1)
    with pytest.raises(InvalidToken, match="expired"):
        read_token(SECRET, Purpose.confirm, token, max_age=0)


def test_a_signed_payload_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(InvalidToken):
        read_preferences_token(SECRET, make_token(SECRET, Purpose.preferences, True))
    with pytest.raises(InvalidToken):
        read_unsubscribe_token(SECRET, make_token(SECRET, Purpose.unsubscribe, ["1", 2]))
    with pytest.raises(InvalidToken):
        read_confirm_token(SECRET, make_token(SECRET, Purpose.confirm, 3))


def test_campaign_links_are_readable_here() -> None:
    from delivery.personalize import LinkMaker

    links = LinkMaker(base_url="http://x", secret_key=SECRET)
    unsubscribe = links.unsubscribe_url(9, 3).rsplit("/", 1)[1]
    preferences = links.preferences_url(9).rsplit("/", 1)[1]
    assert read_unsubscribe_token(SECRET, unsubscribe) == 9
    assert read_preferences_token(SECRET, preferences) == 9
