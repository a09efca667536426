"""Outcomes the platform confirms: a buyer's promise, a supervisor's note, a 追评's own score.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_note', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('promised_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_score', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('follow_up_score')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('promised_at')
        batch_op.drop_column('outcome_note')
