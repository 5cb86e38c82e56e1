"""Per-user API tokens: an admin's own bearer tokens for /api, beside ADMIN_TOKEN.

A token is `bsk_` and 32 random bytes (URL-safe base64), shown once when it is
made. Only its SHA-256 is stored: a random 256-bit secret has nothing to
guess, so a slow hash would add nothing. A token acts with its user's role
(accounts/roles.py, the same table as the web admin), stops working when
revoked, and is deleted with its user. `last_used_at` is written at most
once a minute per token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AdminApiToken, AdminUser, utcnow

PREFIX = "bsk_"
NAME_MAX = 100
TOUCH_EVERY = dt.timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_token(secret: str) -> bool:
    return secret.startswith(PREFIX)


def create(session: Session, user: AdminUser, name: str) -> tuple[AdminApiToken, str]:
    """A new token for `user`: the row (flushed) and the secret, which is never stored."""
    label = " ".join(name.split())[:NAME_MAX] or "API token"
    secret = PREFIX + secrets.token_urlsafe(32)
    row = AdminApiToken(
        user_id=user.id,
        name=label,
        token_hash=_digest(secret),
        hint=secret[: len(PREFIX) + 6],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row, secret


def authenticate(session: Session, secret: str) -> AdminUser | None:
    """The user a live token belongs to, or None (unknown, revoked, user removed)."""
    if not looks_like_token(secret):
        return None
    found = session.execute(
        select(AdminApiToken, AdminUser)
        .join(AdminUser, AdminUser.id == AdminApiToken.user_id)
        .where(AdminApiToken.token_hash == _digest(secret), AdminApiToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    token, user = found
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
    return user


def of_user(session: Session, user_id: int) -> list[AdminApiToken]:
    """The user's tokens, newest first, revoked ones included."""
    return list(
        session.scalars(
            select(AdminApiToken)
            .where(AdminApiToken.user_id == user_id)
            .order_by(AdminApiToken.id.desc())
        )
    )


def revoke(session: Session, user_id: int, token_id: int) -> AdminApiToken | None:
    """Revoke one of the user's own live tokens; None if there is no such token."""
    token = session.get(AdminApiToken, token_id)
    if token is None or token.user_id != user_id or token.revoked_at is not None:
        return None
    token.revoked_at = utcnow()
    return token
