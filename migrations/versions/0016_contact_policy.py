"""A contact policy per shop, and a buyer's request to stop (买家要求勿扰).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 21:40:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_policy', sa.JSON(), nullable=True))
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('do_not_contact_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.drop_column('do_not_contact_at')
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('contact_policy')
