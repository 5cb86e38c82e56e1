from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from subscribers.addresses import InvalidEmail, normalize_email

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-."


def reference(raw: str) -> str | None:
    """What we store: ASCII local parts only, the domain in its IDNA form."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return f"{result.local_part}@{result.ascii_domain}".lower()


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


@pytest.mark.parametrize("raw", ["jos\u00e9@example.org", "\u0436\u0435\u043d\u044f@example.org"])
def test_a_non_ascii_local_part_is_refused_with_the_reason(raw: str) -> None:
    """No backend we send through can deliver to it (SendGrid and most SMTP relays)."""
    with pytest.raises(InvalidEmail, match="plain ASCII"):
        normalize_email(raw)


def test_an_internationalised_domain_is_stored_in_its_ascii_form() -> None:
    assert normalize_email("Ada@B\u00fccher.example") == "ada@xn--bcher-kva.example"
    assert normalize_email("ada@xn--bcher-kva.example") == "ada@xn--bcher-kva.example"
