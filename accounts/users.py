"""Admin accounts: add, remove, list, and log in with a lock-out.

A login that fails LOCK_AFTER times in a row locks the account for
LOCK_MINUTES; a successful one clears the count. The web adds a per-address
rate limit on top (web/dashboard/auth.py). Addresses are stored lowercased.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import passwords
from accounts.audit import Actor, record
from db.models import AdminRole, AdminUser, utcnow
from subscribers.addresses import normalize_email

LOCK_AFTER = 5
LOCK_MINUTES = 15


class AccountError(ValueError):
    """The account operation cannot be done; the message says why."""


@dataclass(frozen=True)
class LoginResult:
    user: AdminUser | None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def parse_role(value: str) -> AdminRole:
    try:
        return AdminRole(value)
    except ValueError:
        raise AccountError(
            f"unknown role {value!r}: choose {', '.join(r.value for r in AdminRole)}"
        ) from None


def find(session: Session, email: str) -> AdminUser | None:
    return session.scalar(select(AdminUser).where(AdminUser.email == email.strip().lower()))


def add_user(
    session: Session, email: str, password: str, role: AdminRole, actor: Actor
) -> AdminUser:
    address = normalize_email(email)
    if find(session, address) is not None:
        raise AccountError(f"an admin with address {address} exists already")
    user = AdminUser(
        email=address,
        password_hash=passwords.hash_password(password),
        role=role,
        created_at=utcnow(),
        failed_logins=0,
        session_epoch=0,
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.add", f"admin:{user.id}", email=address, role=role.value)
    return user


def remove_user(session: Session, email: str, actor: Actor) -> None:
    user = find(session, email)
    if user is None:
        raise AccountError(f"no admin with address {email.strip().lower()}")
    others = session.scalar(
        select(AdminUser.id).where(AdminUser.role == AdminRole.owner, AdminUser.id != user.id)
    )
    if user.role is AdminRole.owner and others is None:
        raise AccountError("cannot remove the last owner: add another owner first")
    record(session, actor, "user.remove", f"admin:{user.id}", email=user.email)
    session.delete(user)


def list_users(session: Session) -> list[AdminUser]:
    return list(session.scalars(select(AdminUser).order_by(AdminUser.email)))


def authenticate(
    session: Session, email: str, password: str, ip: str | None, now: dt.datetime | None = None
) -> LoginResult:
    """Check a login and record it (audit entry, failure count, lock-out)."""
    now = now or utcnow()
    address = email.strip().lower()[:320]
    user = find(session, address)
    actor = Actor(address or "(empty)", ip)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        passwords.verify(None, password)  # same time as any other refusal
        record(session, actor, "login.locked", f"admin:{user.id}")
        return LoginResult(None, user.locked_until)
    if not passwords.verify(user.password_hash if user else None, password) or user is None:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
                user.failed_logins = 0
                record(session, actor, "login.lockout", f"admin:{user.id}")
                return LoginResult(None, user.locked_until)
        record(session, actor, "login.failed", f"admin:{user.id}" if user else None)
        return LoginResult(None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.rehash(password)
    record(session, actor, "login", f"admin:{user.id}")
    return LoginResult(user)


def end_sessions(session: Session, user: AdminUser) -> None:
    """Every cookie issued before this stops working (logout)."""
    user.session_epoch += 1
