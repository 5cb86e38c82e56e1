"""content: feed poll notes, raw video descriptions

Revision ID: 0002_content
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_content"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poll_notes", sa.JSON(), nullable=True))
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("description")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("poll_notes")
