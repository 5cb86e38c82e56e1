"""Per-user API tokens (accounts/api_tokens.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from accounts import api_tokens
from accounts.audit import CLI
from accounts.users import add_user, remove_user
from db.engine import Database
from db.models import AdminApiToken, AdminRole

PASSWORD = "a long test password"


def test_a_token_is_stored_as_its_hash_and_names_its_user(db: Database) -> None:
    with db.session() as session:
        user = add_user(session, "ed@example.org", PASSWORD, AdminRole.editor, CLI)
        token, secret = api_tokens.create(session, user, "  nightly   script ")
    assert secret.startswith("bsk_") and len(secret) > 40
    with db.session() as session:
        [stored] = session.scalars(select(AdminApiToken))
        assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (stored.token_hash, stored.hint, stored.name)
        assert stored.name == "nightly script" and secret.startswith(stored.hint)
        found = api_tokens.authenticate(session, secret)
        assert found is not None and found.email == "ed@example.org"
        assert api_tokens.authenticate(session, secret + "x") is None
        assert api_tokens.authenticate(session, "not-a-token") is None
    with db.session() as session:
        assert session.get(AdminApiToken, token.id).last_used_at is not None  # type: ignore[union-attr]


def test_a_revoked_token_or_one_of_a_removed_admin_stops_working(db: Database) -> None:
    with db.session() as session:
        add_user(session, "owner@example.org", PASSWORD, AdminRole.owner, CLI)
        ed = add_user(session, "ed@example.org", PASSWORD, AdminRole.editor, CLI)
        _, kept_secret = api_tokens.create(session, ed, "kept")
        gone, gone_secret = api_tokens.create(session, ed, "gone")
        ed_id = ed.id
    with db.session() as session:
        assert api_tokens.revoke(session, ed_id + 1, gone.id) is None  # not theirs
        assert api_tokens.revoke(session, ed_id, gone.id) is not None
        assert api_tokens.revoke(session, ed_id, gone.id) is None  # already revoked
    with db.session() as session:
        assert api_tokens.authenticate(session, gone_secret) is None
        assert api_tokens.authenticate(session, kept_secret) is not None
        assert [t.name for t in api_tokens.of_user(session, ed_id)] == ["gone", "kept"]
    with db.session() as session:
        remove_user(session, "ed@example.org", CLI)
    with db.session() as session:
        assert api_tokens.authenticate(session, kept_secret) is None
        assert session.scalars(select(AdminApiToken)).all() == []  # deleted with the admin
