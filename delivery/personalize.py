"""Per-recipient values: signed links, the crisis line for their country, headers."""

from __future__ import annotations

import binascii
import functools
import hmac
import html
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import int_to_bytes

from campaigns.disclaimers import crisis_line_for
from campaigns.render import crisis_key
from config.site import Disclaimer
from delivery.message import Recipient
from subscribers.tokens import Purpose


@dataclass(frozen=True)
class LinkMaker:
    """Signed links one at a time (pages, the archive copy); a send builds its
    recipients' links with `RecipientMaker`.

    Payloads are JSON arrays of ids (and the sponsor's name), written with
    f-strings: a send signs three links per recipient, and a general JSON
    encoder costs more than the signature itself.
    """

    base_url: str
    secret_key: str

    def unsubscribe_url(self, subscriber_id: int, campaign_id: int | None = None) -> str:
        payload = f"[{int(subscriber_id)},{_json_id(campaign_id)}]"
        token = _signer(self.secret_key, Purpose.unsubscribe).sign(payload)
        return f"{self.base_url}/unsubscribe/{token}"

    def preferences_url(self, subscriber_id: int) -> str:
        token = _signer(self.secret_key, Purpose.preferences).sign(str(int(subscriber_id)))
        return f"{self.base_url}/preferences/{token}"

    def sponsor_url(self, campaign_id: int, delivery_id: int | None, sponsor: str) -> str:
        payload = f"[{int(campaign_id)},{_json_id(delivery_id)},{_json_text(sponsor)}]"
        token = _signer(self.secret_key, Purpose.redirect).sign(payload)
        return f"{self.base_url}/r/{token}"


def _json_id(value: int | None) -> str:
    return "null" if value is None else str(int(value))


@functools.lru_cache(maxsize=256)
def _json_text(value: str) -> str:
    """A sponsor's name as JSON, encoded once per name rather than once per recipient."""
    return json.dumps(value, ensure_ascii=False)


class _FastSigner:
    """Signs tokens that `subscribers.tokens.read_token` accepts, about three times cheaper.

    A send signs three links per recipient, and itsdangerous' `dumps` spends
    most of its time on setup and on trying zlib on every payload (a fresh
    deflate state per call, for payloads of a few dozen bytes that it rarely
    shortens). This signer derives the key once, encodes JSON with one
    prebuilt encoder, never compresses (`loads` reads an uncompressed payload
    the same way; only compressed ones carry a leading "."), reuses the
    timestamp within a second and signs by copying an HMAC already keyed
    (copying the keyed state is cheaper than keying it again per token).
    The format is itsdangerous' own, so `read_token` needs no change
    (tests/delivery/test_personalize.py checks every purpose both ways).
    """

    def __init__(self, secret_key: str, purpose: Purpose) -> None:
        serializer = URLSafeTimedSerializer(secret_key, salt=purpose.value)
        signer = serializer.make_signer(serializer.salt)
        # Keyed once; each token copies it. Named by algorithm so OpenSSL's HMAC is used,
        # and its C object taken when there is one: the Python wrapper's copy, update
        # and digest cost a third of a signature on top.
        keyed = hmac.new(signer.derive_key(), digestmod=signer.digest_method().name)
        self._keyed: _Mac = getattr(keyed, "_hmac", None) or keyed
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        # (second, its encoded stamp) in one tuple, so threads never pair a second with
        # another second's stamp.
        self._stamp: tuple[int, bytes] = (-1, b"")

    def dumps(self, payload: object) -> str:
        return self.sign(self._encode(payload))

    def sign(self, payload_json: str) -> str:
        """Sign a payload already encoded as JSON."""
        now = int(time.time())
        second, stamp = self._stamp
        if second != now:
            stamp = _b64(int_to_bytes(now))
            self._stamp = (now, stamp)
        value = _b64(payload_json.encode()) + b"." + stamp
        mac = self._keyed.copy()
        mac.update(value)
        signature = _b64(mac.digest())
        return (value + b"." + signature).decode("ascii")


class _Mac(Protocol):
    def copy(self) -> _Mac: ...
    def update(self, data: bytes) -> None: ...
    def digest(self) -> bytes: ...


def _b64(data: bytes) -> bytes:
    """itsdangerous' URL-safe base64 without padding, minus its type checks."""
    return binascii.b2a_base64(data, newline=False).translate(_URL_SAFE).rstrip(b"=")


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


@functools.cache
def _signer(secret_key: str, purpose: Purpose) -> _FastSigner:
    return _FastSigner(secret_key, purpose)


def list_unsubscribe_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail clients show a one-click unsubscribe button."""
    return {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": ONE_CLICK}


ONE_CLICK = "List-Unsubscribe=One-Click"


def crisis_values(disclaimers: Sequence[Disclaimer], country: str | None) -> dict[str, str]:
    """The crisis-line placeholder values for someone in `country` (None: the default line).

    The same key serves text and HTML parts, so values are escaped for HTML;
    crisis lines are plain sentences where escaping changes nothing visible.
    """
    values = {}
    for disclaimer in disclaimers:
        line = crisis_line_for(disclaimer, country)
        if line is not None:
            values[crisis_key(disclaimer)] = html.escape(line, quote=False)
    return values


class RecipientMaker:
    """Per-recipient values for one copy of a campaign (one sponsor), per-campaign work done once.

    A send builds a thousand recipients per batch; everything that does not
    depend on the person (link prefixes, signers, the campaign's part of each
    payload) is prepared here once per batch and copy.
    """

    def __init__(self, links: LinkMaker, campaign_id: int, sponsor_name: str | None) -> None:
        base, key = links.base_url, links.secret_key
        self._unsubscribe_base = f"{base}/unsubscribe/"
        self._unsubscribe_tail = f",{int(campaign_id)}]"
        self._sign_unsubscribe = _signer(key, Purpose.unsubscribe).sign
        self._preferences_base = f"{base}/preferences/"
        self._sign_preferences = _signer(key, Purpose.preferences).sign
        self._sponsor_base = f"{base}/r/"
        self._sponsor_head = f"[{int(campaign_id)},"
        self._sponsor_tail = f",{_json_text(sponsor_name)}]" if sponsor_name else None
        self._sign_sponsor = _signer(key, Purpose.redirect).sign
        self._campaign = str(int(campaign_id))

    def recipient(
        self,
        *,
        email: str,
        name: str | None,
        subscriber_id: int,
        delivery_id: int | None,  # None in a preview of a campaign not yet queued
        crisis: Mapping[str, str],  # from `crisis_values`, computed once per country
    ) -> Recipient:
        person = str(int(subscriber_id))
        unsubscribe = self._unsubscribe_base + self._sign_unsubscribe(
            "[" + person + self._unsubscribe_tail
        )
        values = {
            "unsubscribe_url": unsubscribe,
            "preferences_url": self._preferences_base + self._sign_preferences(person),
            **crisis,
        }
        delivery = _json_id(delivery_id)
        if self._sponsor_tail is not None:
            values["sponsor_url"] = self._sponsor_base + self._sign_sponsor(
                self._sponsor_head + delivery + self._sponsor_tail
            )
        return Recipient(
            email=email,
            name=name,
            substitutions=values,
            headers=list_unsubscribe_headers(unsubscribe),
            custom_args={"campaign_id": self._campaign, "delivery_id": delivery},
        )


def campaign_recipient(
    links: LinkMaker,
    *,
    email: str,
    name: str | None,
    subscriber_id: int,
    campaign_id: int,
    delivery_id: int | None,
    sponsor_name: str | None,
    crisis: Mapping[str, str],
) -> Recipient:
    """One recipient on their own (previews, test sends); a send uses `RecipientMaker`."""
    return RecipientMaker(links, campaign_id, sponsor_name).recipient(
        email=email, name=name, subscriber_id=subscriber_id, delivery_id=delivery_id, crisis=crisis
    )
