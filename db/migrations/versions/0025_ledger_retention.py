"""ledger retention: per-campaign roll-ups of deleted delivery rows

`delivery_rollups` keeps, per campaign, the counts that its deleted ledger
rows held (by status, sponsor, edition variant, day sent and
reconciliation outcome), so
progress, reports and the sponsor report read the same numbers after
retention (delivery/retention.py) deleted the rows. `campaigns.
ledger_rolled_up_at` says when that happened; a campaign is rolled up once.

Revision ID: 0025_ledger_retention
Revises: 0020_sponsor_desk
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_ledger_retention"
down_revision = "0020_sponsor_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_rollups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sending",
                "sent",
                "failed",
                "uncertain",
                "skipped",
                name="deliverystatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("sponsor_name", sa.String(length=200), nullable=True),
        sa.Column("edition_variant", sa.String(length=128), nullable=True),
        sa.Column("sent_day", sa.Date(), nullable=True),
        sa.Column("reconciliation", sa.String(length=16), nullable=True),
        sa.Column("deliveries", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("opened", sa.BigInteger(), nullable=False),
        sa.Column("clicked", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_rollups")),
    )
    with op.batch_alter_table("delivery_rollups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_rollups_campaign_id"), ["campaign_id"], unique=False
        )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ledger_rolled_up_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("ledger_rolled_up_at")
    with op.batch_alter_table("delivery_rollups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_rollups_campaign_id"))
    op.drop_table("delivery_rollups")
