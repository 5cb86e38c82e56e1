"""posts.backlog: a feed's first poll records its entries as already published

A feed's first poll lists its whole back catalogue (a channel feed holds its
last 15 videos). Those rows are marked `backlog` and no schedule or automatic
selection mails them. Existing rows were all stored before this rule, when
every one counted as new; they keep `false`, so nothing changes for them.

Revision ID: 0010_post_backlog
Revises: 0009_ledger_write_path
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_post_backlog"
down_revision = "0009_ledger_write_path"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("backlog", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("backlog")
