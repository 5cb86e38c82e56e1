"""feedback: how reconciliation settled an uncertain delivery

Revision ID: 0006_feedback
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_feedback"
down_revision = "0002_content"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reconciliation", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "ix_deliveries_status_reconciliation", ["status", "reconciliation"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_reconciliation")
        batch_op.drop_column("reconciliation")
