"""admin api tokens: per-user bearer tokens for /api, stored as hashes

Each row is one admin's token (its SHA-256, a name, the first characters to
recognise it); deleting the admin deletes their tokens.

Revision ID: 0018_admin_api_tokens
Revises: 0017_admin_figures
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_admin_api_tokens"
down_revision = "0017_admin_figures"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_api_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_used_at", _utc(), nullable=True),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["admin_users.id"],
            name=op.f("fk_admin_api_tokens_user_id_admin_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admin_api_tokens_token_hash")),
    )
    op.create_index("ix_admin_api_tokens_user_id", "admin_api_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_admin_api_tokens_user_id", table_name="admin_api_tokens")
    op.drop_table("admin_api_tokens")
