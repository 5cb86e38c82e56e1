from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from config.settings import SettingsError, load_settings
from feedback.signature import (
    SignatureError,
    WebhookVerifier,
    load_public_key,
    public_key_text,
    sign_events,
)
from tests.support.sendgrid_events import Signer

BODY = b'[{"event":"delivered","email":"ada@example.org"}]'


def verifier(signer: Signer, max_age: int = 600) -> WebhookVerifier:
    return WebhookVerifier(load_public_key(signer.public_text), max_age)


def test_a_body_signed_with_the_private_key_verifies() -> None:
    signer = Signer()
    stamp = str(int(time.time()))
    verifier(signer).verify(BODY, sign_events(signer.key, stamp, BODY), stamp)


def test_one_changed_byte_is_refused() -> None:
    signer = Signer()
    stamp = str(int(time.time()))
    signature = sign_events(signer.key, stamp, BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verifier(signer).verify(BODY.replace(b"ada", b"adb"), signature, stamp)


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    signer = Signer()
    stamp = int(time.time())
    signature = sign_events(signer.key, str(stamp), BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verifier(signer).verify(BODY, signature, str(stamp - 1))


def test_a_signature_from_another_key_is_refused() -> None:
    stamp = str(int(time.time()))
    with pytest.raises(SignatureError):
        verifier(Signer()).verify(BODY, sign_events(Signer().key, stamp, BODY), stamp)


@pytest.mark.parametrize("offset", [-601, 601, -86_400])
def test_a_timestamp_outside_the_replay_window_is_refused(offset: int) -> None:
    signer = Signer()
    stamp = str(int(time.time()) + offset)
    with pytest.raises(SignatureError, match="replay window"):
        verifier(signer).verify(BODY, sign_events(signer.key, stamp, BODY), stamp)


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [(None, "1"), ("c2ln", None), ("", ""), ("c2ln", "yesterday")],
)
def test_missing_or_malformed_headers_are_refused(
    signature: str | None, timestamp: str | None
) -> None:
    with pytest.raises(SignatureError):
        verifier(Signer()).verify(BODY, signature, timestamp)


@pytest.mark.parametrize(
    "garbage", ["not base64 at all!", "AAAA", base64.b64encode(b"x" * 70).decode()]
)
def test_a_garbled_signature_is_refused_not_crashing(garbage: str) -> None:
    with pytest.raises(SignatureError):
        verifier(Signer()).verify(BODY, garbage, str(int(time.time())))


def test_a_body_that_is_not_utf8_is_refused() -> None:
    signer = Signer()
    stamp = str(int(time.time()))
    body = b"\xff\xfe[]"
    with pytest.raises(SignatureError):
        verifier(signer).verify(body, sign_events(signer.key, stamp, body), stamp)


def test_the_key_reads_as_sendgrid_shows_it_or_as_pem() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expected = key.public_key().public_numbers()
    assert load_public_key(public_key_text(key)).public_numbers() == expected
    assert load_public_key(pem.decode()).public_numbers() == expected


def test_a_key_on_another_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="P-256"):
        load_public_key(public_key_text(ec.generate_private_key(ec.SECP384R1())))


def test_settings_refuse_a_malformed_webhook_key_with_one_line() -> None:
    with pytest.raises(SettingsError, match="SENDGRID_WEBHOOK_PUBLIC_KEY"):
        load_settings(sendgrid_webhook_public_key="bm90IGEga2V5")
    assert load_settings(sendgrid_webhook_public_key="").sendgrid_webhook_public_key is None
