from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from accounts import passwords
from accounts.audit import CLI, Actor
from accounts.roles import allows
from accounts.users import (
    LOCK_AFTER,
    AccountError,
    add_user,
    authenticate,
    remove_user,
)
from db.engine import Database
from db.models import AdminAudit, AdminRole, AdminUser, utcnow

PASSWORD = "correct horse battery"


def test_passwords_are_stored_as_argon2id_hashes(db: Database) -> None:
    with db.session() as session:
        add_user(session, "Olga@Example.org", PASSWORD, AdminRole.owner, CLI)
    with db.session() as session:
        user = session.scalars(select(AdminUser)).one()
        assert user.email == "olga@example.org"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert passwords.verify(user.password_hash, PASSWORD)
        assert not passwords.verify(user.password_hash, PASSWORD + "!")


def test_a_short_password_is_refused() -> None:
    with pytest.raises(passwords.WeakPassword, match="at least 10 characters"):
        passwords.hash_password("short")


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(db: Database) -> None:
    now = utcnow()
    with db.session() as session:
        add_user(session, "ed@example.org", PASSWORD, AdminRole.editor, CLI)
    for _ in range(LOCK_AFTER - 1):
        with db.session() as session:
            assert not authenticate(
                session, "ed@example.org", "wrong-guess-123", "10.0.0.9", now
            ).ok
    with db.session() as session:
        locked = authenticate(session, "ed@example.org", "wrong-guess-123", "10.0.0.9", now)
        assert locked.locked_until is not None
    with db.session() as session:
        assert not authenticate(session, "ed@example.org", PASSWORD, "10.0.0.9", now).ok
    later = now + dt.timedelta(minutes=16)
    with db.session() as session:
        assert authenticate(session, "ed@example.org", PASSWORD, "10.0.0.9", later).ok
    with db.session() as session:
        actions = [a.action for a in session.scalars(select(AdminAudit).order_by(AdminAudit.id))]
        ips = {a.ip for a in session.scalars(select(AdminAudit).where(AdminAudit.ip.is_not(None)))}
    assert actions == ["user.add"] + ["login.failed"] * 4 + [
        "login.lockout",
        "login.locked",
        "login",
    ]
    assert ips == {"10.0.0.9"}


def test_an_unknown_address_is_refused_like_a_wrong_password(db: Database) -> None:
    with db.session() as session:
        result = authenticate(session, "nobody@example.org", PASSWORD, None)
    assert not result.ok and result.locked_until is None


def test_the_last_owner_cannot_be_removed(db: Database) -> None:
    with db.session() as session:
        add_user(session, "only@example.org", PASSWORD, AdminRole.owner, CLI)
    with db.session() as session, pytest.raises(AccountError, match="last owner"):
        remove_user(session, "only@example.org", Actor("x@example.org"))


def test_an_address_can_only_be_added_once(db: Database) -> None:
    with db.session() as session:
        add_user(session, "v@example.org", PASSWORD, AdminRole.viewer, CLI)
    with db.session() as session, pytest.raises(AccountError, match="exists already"):
        add_user(session, "V@example.org", PASSWORD, AdminRole.viewer, CLI)


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        (AdminRole.viewer, "read", True),
        (AdminRole.viewer, "campaign.create", False),
        (AdminRole.editor, "campaign.test", True),
        (AdminRole.editor, "campaign.send", False),
        (AdminRole.editor, "subscribers.erase", False),
        (AdminRole.owner, "campaign.send", True),
        (AdminRole.owner, "users.manage", True),
        (AdminRole.owner, "no.such.action", False),
    ],
)
def test_roles_allow_what_the_issue_says(role: AdminRole, action: str, allowed: bool) -> None:
    assert allows(role, action) is allowed
