"""Good ratings the model is unsure about wait for a person (待确认).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 20:15:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('awaiting_confirmation_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            'ix_reviews_shop_id_awaiting_confirmation_at',
            ['shop_id', 'awaiting_confirmation_at'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_shop_id_awaiting_confirmation_at')
        batch_op.drop_column('awaiting_confirmation_at')
