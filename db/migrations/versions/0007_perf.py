"""perf: pending events in their own table; events rewritten in place when claimed

The claim that applies events sets `events.processed_at`. With an index on that
column every claim rewrote each of the six indexes of `events` too, and the
planner found pending events through an index full of not-yet-vacuumed entries.
Now pending events are rows of `pending_events` (deleted by the claim), no
index of `events` mentions `processed_at`, and on PostgreSQL half of each page
of `events` stays free so the claim's UPDATE is a HOT update (no index writes).

Revision ID: 0007_perf
Revises: 0006_feedback
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_perf"
down_revision = "0006_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_events",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_pending_events_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_pending_events")),
    )
    op.execute(
        "INSERT INTO pending_events (event_id) SELECT id FROM events WHERE processed_at IS NULL"
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_processed_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE events SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE events RESET (fillfactor)")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_processed_at", ["processed_at"], unique=False)
    op.drop_table("pending_events")
