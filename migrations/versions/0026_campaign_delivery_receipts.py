"""Delivery receipts of campaign messages: per recipient, whether the operator delivered
the SMS the provider accepted (送达 / 未送达 / 回执未到).

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column('delivered_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('delivery')
