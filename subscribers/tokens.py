"""Signed, purpose-bound tokens for links in emails.

Each purpose has its own salt, so a confirmation token can never be replayed
as an unsubscribe token (or the other way round).
"""

from __future__ import annotations

from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class Purpose(StrEnum):
    confirm = "broadsheet.confirm"
    unsubscribe = "broadsheet.unsubscribe"
    preferences = "broadsheet.preferences"
    redirect = "broadsheet.redirect"
    # The sponsor desk's links for a sponsor (not a subscriber): creative intake, report.
    sponsor_intake = "broadsheet.sponsor-intake"
    sponsor_report = "broadsheet.sponsor-report"


# How long a link stays valid, in seconds. Unsubscribe links in old emails must
# keep working (the law expects that), so they are long-lived.
MAX_AGE: dict[Purpose, int] = {
    Purpose.confirm: 7 * 24 * 3600,
    Purpose.unsubscribe: 5 * 365 * 24 * 3600,
    Purpose.preferences: 365 * 24 * 3600,
    Purpose.redirect: 5 * 365 * 24 * 3600,
    Purpose.sponsor_intake: 14 * 24 * 3600,
    Purpose.sponsor_report: 180 * 24 * 3600,
}


class InvalidToken(ValueError):
    """Forged, tampered, for another purpose, or expired."""


def make_token(secret_key: str, purpose: Purpose, payload: object) -> str:
    return URLSafeTimedSerializer(secret_key, salt=purpose.value).dumps(payload)


def read_token(secret_key: str, purpose: Purpose, token: str, max_age: int | None = None) -> object:
    serializer = URLSafeTimedSerializer(secret_key, salt=purpose.value)
    try:
        return serializer.loads(token, max_age=max_age if max_age is not None else MAX_AGE[purpose])
    except SignatureExpired:
        raise InvalidToken("this link has expired") from None
    except BadSignature:
        raise InvalidToken("this link is not valid") from None
