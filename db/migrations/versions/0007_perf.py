"""perf: index only the pending events

The claim that applies events sets `processed_at`. With a full index on that
column every claim added an entry per event, and the planner looked pending
events up through it, walking every not-yet-vacuumed entry. A partial index on
`id` holds only pending events and is probed by the ids being claimed.

Revision ID: 0007_perf
Revises: 0006_feedback
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_perf"
down_revision = "0006_feedback"
branch_labels = None
depends_on = None

PENDING = sa.text("processed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_processed_at")
        batch_op.create_index(
            "ix_events_pending", ["id"], postgresql_where=PENDING, sqlite_where=PENDING
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_pending")
        batch_op.create_index("ix_events_processed_at", ["processed_at"], unique=False)
