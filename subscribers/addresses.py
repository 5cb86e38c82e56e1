"""Email addresses: validated and normalised once, hashed for suppression."""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    """The address is not one we can mail; the message says why."""


def normalize_email(raw: str) -> str:
    """Validated, normalised form; no DNS lookups, so it is fast and works offline."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    # The local part is case-sensitive by the RFC but not in practice: one person, one row.
    return result.normalized.lower()


def email_hash(normalized: str) -> str:
    """The suppression key: survives erasure of the address itself."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()
