"""admin figures: slow figures of the web admin kept across processes

A finished campaign's delivery counts and its report take a scan of its
ledger (a million rows for a campaign to everyone); `admin_figures` keeps each
as last computed, with its time, and pages refresh it after their response.

Revision ID: 0017_admin_figures
Revises: 0016_import_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_admin_figures"
down_revision = "0016_import_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_figures",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_admin_figures")),
    )


def downgrade() -> None:
    op.drop_table("admin_figures")
