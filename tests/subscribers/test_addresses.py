from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from subscribers.addresses import InvalidEmail, normalize_email

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-."


def reference(raw: str) -> str | None:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def ours(raw: str) -> str | None:
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return None


@given(
    local=st.text(alphabet=ATEXT + '"() ,é', min_size=0, max_size=70),
    domain=st.sampled_from(
        ["example.org", "EXAMPLE.org", "bücher.example", "localhost", "a..b", "x.test", "-x.org"]
    ),
)
def test_the_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    raw = f"{local}@{domain}"
    assert ours(raw) == reference(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ada.Lovelace@Example.ORG ", "ada.lovelace@example.org"),
        ("ines+news@STEADY-ground.example", "ines+news@steady-ground.example"),
    ],
)
def test_addresses_are_trimmed_and_lowercased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at-sign", "two@@example.org", "dot.@example.org"])
def test_bad_addresses_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)
