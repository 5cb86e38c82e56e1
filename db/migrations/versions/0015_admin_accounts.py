"""admin accounts: admin_users, admin_audit, and indexes the admin pages read

`admin_users` holds the people who run the newsletter in the web admin
(argon2 password hashes, role, lock-out state, a session epoch that ends every
session of a user when raised). `admin_audit` records every admin action.

Two reads of the admin pages need an index at a million subscribers: sign-ups
per day for the dashboard's growth chart (`subscribers.created_at`) and the
search by the start of an address or a name. On PostgreSQL the search indexes
use `text_pattern_ops`, so `LIKE 'prefix%'` is an index range scan whatever the
database's collation; SQLite gets the plain index on the lowered name.

Revision ID: 0015_admin_accounts
Revises: 0012_subscriber_links
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_admin_accounts"
down_revision = "0012_subscriber_links"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("viewer", "editor", "owner", name="adminrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_login_at", _utc(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", _utc(), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_users")),
        sa.UniqueConstraint("email", name=op.f("uq_admin_users_email")),
    )
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
    )
    op.create_index("ix_subscribers_created_at", "subscribers", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_subscribers_email_prefix "
            "ON subscribers (lower(email) text_pattern_ops)"
        )
        op.execute(
            "CREATE INDEX ix_subscribers_name_prefix ON subscribers (lower(name) text_pattern_ops)"
        )
    else:
        op.execute("CREATE INDEX ix_subscribers_name_prefix ON subscribers (lower(name))")


def downgrade() -> None:
    op.drop_index("ix_subscribers_name_prefix", table_name="subscribers")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_subscribers_email_prefix", table_name="subscribers")
    op.drop_index("ix_subscribers_created_at", table_name="subscribers")
    op.drop_table("admin_audit")
    op.drop_table("admin_users")
