"""Reading the signed links people click: confirm, preferences, unsubscribe.

Campaign emails carry links built by `delivery.personalize.LinkMaker`; the
payloads read here are the ones it writes. Confirmation links are made here.
"""

from __future__ import annotations

from subscribers.tokens import InvalidToken, Purpose, make_token, read_token

# Enough of the address hash to tell one person from another if an id is reused.
HASH_PREFIX = 16


def confirm_token(secret_key: str, subscriber_id: int, ehash: str) -> str:
    return make_token(secret_key, Purpose.confirm, [subscriber_id, ehash[:HASH_PREFIX]])


def read_confirm_token(secret_key: str, token: str) -> tuple[int, str]:
    """(subscriber id, hash prefix); InvalidToken when forged, expired or for another purpose."""
    payload = read_token(secret_key, Purpose.confirm, token)
    if (
        isinstance(payload, list)
        and len(payload) == 2
        and _is_id(payload[0])
        and isinstance(payload[1], str)
    ):
        return payload[0], payload[1]
    raise InvalidToken("this link is not valid")


def read_unsubscribe_token(secret_key: str, token: str) -> int:
    """The subscriber id of a `[subscriber_id, campaign_id]` unsubscribe token."""
    payload = read_token(secret_key, Purpose.unsubscribe, token)
    if isinstance(payload, list) and payload and _is_id(payload[0]):
        return int(payload[0])
    raise InvalidToken("this link is not valid")


def read_preferences_token(secret_key: str, token: str) -> int:
    payload = read_token(secret_key, Purpose.preferences, token)
    if isinstance(payload, int) and _is_id(payload):
        return payload
    raise InvalidToken("this link is not valid")


def _is_id(value: object) -> bool:
    # bool is an int subclass; a signed `true` is still not an id.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
