"""Verifying SendGrid's Signed Event Webhook.

SendGrid signs the bytes `timestamp header + raw body` with ECDSA on P-256 and
SHA-256, and sends the DER signature base64-encoded. Its settings page shows
the public key as base64 DER SubjectPublicKeyInfo (a PEM without its armour).
The check itself is the `sendgrid` library's own EventWebhook helper, so our
scheme is SendGrid's by construction; this module adds what the helper leaves
to the caller: key validation, missing headers, the replay window, and one
clear reason per refusal.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader

SIGNATURE_HEADER = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER = EventWebhookHeader.TIMESTAMP


class SignatureError(ValueError):
    """The request is not provably from SendGrid, or too old; the message says why."""


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """Parse the key as SendGrid shows it (base64 DER), or as a full PEM block."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise ValueError("is not a base64 DER public key as SendGrid shows it") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("must be an ECDSA P-256 public key")
    return key


@dataclass(frozen=True)
class WebhookVerifier:
    public_key: ec.EllipticCurvePublicKey
    max_age_seconds: int

    def verify(
        self, body: bytes, signature: str | None, timestamp: str | None, now: float | None = None
    ) -> None:
        """Raise SignatureError unless `body` is signed by the key and fresh."""
        if not signature or not timestamp:
            raise SignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise SignatureError("timestamp header is not a Unix time") from None
        age = (time.time() if now is None else now) - sent_at
        # Both directions: a timestamp far in the future would otherwise stay valid for long.
        if abs(age) > self.max_age_seconds:
            raise SignatureError(
                f"timestamp is {int(age)}s off; the replay window is {self.max_age_seconds}s"
            )
        try:
            # The helper signs (timestamp + payload) encoded as UTF-8; decoding strictly and
            # letting it re-encode gives back exactly the raw bytes SendGrid signed.
            payload = body.decode("utf-8")
            valid = EventWebhook().verify_signature(
                payload, signature, timestamp, public_key=self.public_key
            )
        except (UnicodeDecodeError, binascii.Error, ValueError):
            valid = False
        if not valid:
            raise SignatureError("signature does not match the body and timestamp")


@lru_cache(maxsize=4)
def verifier_for(public_key_text: str, max_age_seconds: int) -> WebhookVerifier:
    """One parsed key per configuration, not one per request."""
    return WebhookVerifier(load_public_key(public_key_text), max_age_seconds)


def public_key_text(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The base64 DER form SendGrid shows, for a key pair made locally (tests, bench)."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def sign_events(private_key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    """SendGrid's side of the scheme: lets tests, the bench and local fakes post real events."""
    der = private_key.sign(timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(der).decode("ascii")
