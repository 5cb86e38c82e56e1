"""subscriber links: ids never reused on SQLite, confirmations that left are recorded

Ids never reused. Unsubscribe and preference links carry a subscriber id. A
SQLite rowid table hands out max(id) + 1, so after an erasure of the newest
person the next sign-up got the erased person's id, and the old links showed
and changed the new person. `AUTOINCREMENT` makes SQLite remember the highest
id ever used (`sqlite_sequence`); PostgreSQL sequences never go back anyway.
SQLite cannot add AUTOINCREMENT to a table, so the table is rebuilt. The
rebuild drops the old table, and with foreign keys on, SQLite's DROP TABLE
deletes the rows first and cascades that delete to `subscriptions` and
`consents`: the rebuild runs with foreign keys off (a pragma that only takes
effect outside a transaction, so the migration commits what came before it)
and checks every key afterwards. Ids erased before this migration above the
highest remaining id can still be handed out once more: nothing records them.

Domains in ASCII. Addresses are now stored with their domain in IDNA form
(`ada@xn--bcher-kva.example`); rows stored before with a Unicode domain are
rewritten so that a new sign-up finds them, and a suppressed one also gets
its new hash suppressed (a suppression is keyed by the hash of the address,
so the Unicode form's hash alone would not stop the ASCII form). A row whose
ASCII form another row already has is left as it is.

`confirmation_mailed_at`. `confirmation_sent_at` records when a confirmation
was last asked for (the sign-up's claim of the resend window); the new column
records when the confirmation task actually handed one to the mail backend.
A row asked for and never mailed (its web process died before the task was
queued) is what the confirmation sweep sends. Existing rows count as mailed,
so upgrading sends nothing.

Revision ID: 0012_subscriber_links
Revises: 0011_rendered_subjects
"""

import hashlib

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email

revision = "0012_subscriber_links"
down_revision = "0011_rendered_subjects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(bind, on=False)
    with op.batch_alter_table(
        "subscribers",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.add_column(sa.Column("confirmation_mailed_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE subscribers SET confirmation_mailed_at = confirmation_sent_at"
        " WHERE confirmation_sent_at IS NOT NULL"
    )
    _ascii_domains(bind)
    if sqlite:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the subscribers rebuild: {broken[:5]}")
        _foreign_keys(bind, on=True)


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch_op:
        batch_op.drop_column("confirmation_mailed_at")


def _ascii_domains(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text("SELECT id, email, email_hash FROM subscribers")).all()
    for subscriber_id, email, old_hash in rows:
        local, _, domain = email.rpartition("@")
        if domain.isascii():
            continue
        try:
            ascii_domain = validate_email(f"a@{domain}", check_deliverability=False).ascii_domain
        except EmailNotValidError:
            continue
        address = f"{local}@{ascii_domain}".lower()
        new_hash = hashlib.sha256(address.encode("utf-8")).hexdigest()
        taken = bind.execute(
            sa.text("SELECT 1 FROM subscribers WHERE email = :email"), {"email": address}
        ).first()
        if taken:
            continue
        bind.execute(
            sa.text("UPDATE subscribers SET email = :email, email_hash = :hash WHERE id = :id"),
            {"email": address, "hash": new_hash, "id": subscriber_id},
        )
        bind.execute(
            sa.text(
                "INSERT INTO suppressions (email_hash, reason, created_at)"
                " SELECT :new, reason, created_at FROM suppressions WHERE email_hash = :old"
                " AND NOT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = :new)"
            ),
            {"new": new_hash, "old": old_hash},
        )


def _foreign_keys(bind: sa.Connection, *, on: bool) -> None:
    """PRAGMA foreign_keys is ignored inside a transaction: end pysqlite's implicit one first."""
    raw = bind.connection.dbapi_connection
    assert raw is not None
    raw.commit()
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
