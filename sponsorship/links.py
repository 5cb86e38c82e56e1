"""The two links a sponsor gets: creative intake and the booking's report.

Signed with the project's token module, each with its own purpose salt (so
neither can be replayed as the other, nor as a subscriber's link) and expiry
(`subscribers.tokens.MAX_AGE`). The payload is `[booking_id]`.
"""

from __future__ import annotations

from subscribers.tokens import InvalidToken, Purpose, make_token, read_token

MAX_ID = 2**63 - 1


def intake_token(secret_key: str, booking_id: int) -> str:
    return make_token(secret_key, Purpose.sponsor_intake, [booking_id])


def report_token(secret_key: str, booking_id: int) -> str:
    return make_token(secret_key, Purpose.sponsor_report, [booking_id])


def read_intake_token(secret_key: str, token: str) -> int:
    return _booking_id(read_token(secret_key, Purpose.sponsor_intake, token))


def read_report_token(secret_key: str, token: str) -> int:
    return _booking_id(read_token(secret_key, Purpose.sponsor_report, token))


def _booking_id(payload: object) -> int:
    if isinstance(payload, list) and len(payload) == 1:
        value = payload[0]
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
            return value
    raise InvalidToken("this link is not valid")
