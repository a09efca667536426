"""满意度回访 asks a second question, whether the problem was solved
(``case_surveys.resolved``: yes, partly, no). Answers given before it was asked stay
NULL: the buyer was not asked, which is not the same as any answer.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-05 09:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("case_surveys", schema=None) as batch_op:
        batch_op.drop_column("resolved")
