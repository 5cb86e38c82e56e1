"""ledger indexes: fewer, and partial where rows only pass through

A delivery row is written three times (queued, claimed, sent), and each
write of a row whose status changes adds an entry to every index of
`deliveries`. Three indexes were never read (email_hash, sponsor_name,
batch_key); the two status indexes only served queued/sending rows (fan-out,
claims, "is the campaign done?", the sweeper) and uncertain rows
(reconciliation). Those become partial indexes, which a row outside their
condition costs nothing. Per-campaign counts use the (campaign, subscriber)
unique index. Frequency caps get a partial index of sent rows with a
sponsor: through the plain subscriber index, a batch's cap lookup fetched
every row of its thousand people, and on a freshly filled table the planner
preferred a parallel scan of the whole ledger per batch.

Revision ID: 0008_ledger_indexes
Revises: 0007_perf
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_ledger_indexes"
down_revision = "0007_perf"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('queued', 'sending')"
UNCERTAIN = "status = 'uncertain'"
SPONSOR_SHOWN = "status = 'sent' AND sponsor_name IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_email_hash")
        batch_op.drop_index("ix_deliveries_sponsor_name")
        batch_op.drop_index("ix_deliveries_batch_key")
        batch_op.drop_index("ix_deliveries_campaign_status")
        batch_op.drop_index("ix_deliveries_status_reconciliation")
        batch_op.create_index(
            "ix_deliveries_unfinished",
            ["campaign_id"],
            postgresql_where=sa.text(UNFINISHED),
            sqlite_where=sa.text(UNFINISHED),
        )
        batch_op.create_index(
            "ix_deliveries_uncertain",
            ["reconciliation"],
            postgresql_where=sa.text(UNCERTAIN),
            sqlite_where=sa.text(UNCERTAIN),
        )
        batch_op.create_index(
            "ix_deliveries_sponsor_shown",
            ["subscriber_id", "sponsor_name"],
            postgresql_where=sa.text(SPONSOR_SHOWN),
            sqlite_where=sa.text(SPONSOR_SHOWN),
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_sponsor_shown")
        batch_op.drop_index("ix_deliveries_uncertain")
        batch_op.drop_index("ix_deliveries_unfinished")
        batch_op.create_index(
            "ix_deliveries_status_reconciliation", ["status", "reconciliation"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_campaign_status", ["campaign_id", "status"], unique=False
        )
        batch_op.create_index("ix_deliveries_batch_key", ["batch_key"], unique=False)
        batch_op.create_index("ix_deliveries_sponsor_name", ["sponsor_name"], unique=False)
        batch_op.create_index("ix_deliveries_email_hash", ["email_hash"], unique=False)
