"""rendered subjects: `campaigns.subject` is what people saw, the template moves aside

`campaigns.subject` held the Jinja source of the subject, so `campaign list`,
reports, plot titles and hooks showed `{{ lead.title if lead else ... }}`
instead of the subject that went out. The source moves to the new
`subject_template` column, and `subject` becomes the rendered subject: for a
campaign that has started sending, the subject of its lead (`default`)
edition, which is exactly what was sent. A draft made before this migration
keeps its source in both columns until it is sent (its subject is rendered
then).

Revision ID: 0011_rendered_subjects
Revises: 0010_post_backlog
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_rendered_subjects"
down_revision = "0010_post_backlog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_template", sa.Text(), nullable=True))
    op.execute("UPDATE campaigns SET subject_template = subject")
    op.execute(
        "UPDATE campaigns SET subject = (SELECT e.subject FROM editions e"
        " WHERE e.campaign_id = campaigns.id AND e.variant = 'default')"
        " WHERE EXISTS (SELECT 1 FROM editions e"
        " WHERE e.campaign_id = campaigns.id AND e.variant = 'default')"
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("subject_template", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    op.execute("UPDATE campaigns SET subject = subject_template")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("subject_template")
