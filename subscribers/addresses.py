"""Email addresses: validated and normalised once, hashed for suppression.

What Broadsheet can mail: an ASCII local part (SendGrid and most SMTP relays
cannot deliver to anything else; SMTPUTF8 is not end to end), and any domain,
stored in its ASCII (IDNA, `xn--`) form so that every header we write is
ASCII. Sign-up, import, the CLI and the admin API all come through
`normalize_email`, so a stored address is always one a backend can take.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    """The address is not one we can mail; the message says why."""


# A plain ASCII dot-atom local part (RFC 5322 atext): email-validator returns
# such a part unchanged, so only the domain needs its full checks.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_LOCAL = 64
_MAX_ADDRESS = 254


def normalize_email(raw: str) -> str:
    """Validated, normalised form; no DNS lookups, so it is fast and works offline.

    The common case (plain ASCII local part) validates the domain once per
    distinct domain, which makes a large import about ten times faster; any
    other address goes through email-validator whole.
    """
    candidate = raw.strip()
    local, at, domain = candidate.rpartition("@")
    if at and len(local) <= _MAX_LOCAL and _PLAIN_LOCAL.fullmatch(local):
        normalized_domain = _domain(domain)
        address = f"{local}@{normalized_domain}"
        if len(address) <= _MAX_ADDRESS:
            return address.lower()
    return _validate(candidate)


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    return _validate(f"a@{domain}").partition("@")[2]


NON_ASCII_LOCAL = (
    "the part before the @ must be plain ASCII: our mail providers cannot deliver "
    "to internationalised mailbox names"
)


def _validate(candidate: str) -> str:
    local = candidate.rpartition("@")[0]
    if not local.isascii() and local.isprintable():
        raise InvalidEmail(NON_ASCII_LOCAL)
    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    # IDNA for the domain: headers stay ASCII, and one domain has one spelling.
    # The local part is case-sensitive by the RFC but not in practice: one person, one row.
    return f"{result.local_part}@{result.ascii_domain}".lower()


def email_hash(normalized: str) -> str:
    """The suppression key: survives erasure of the address itself."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()
