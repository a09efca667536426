"""Reviews that could not be stored as they came, kept aside with their error.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 18:40:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'quarantined_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('platform_key', sa.String(length=200), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('quarantined_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_tried_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_quarantined_records_shop_id_shops'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantined_records')),
    )
    with op.batch_alter_table('quarantined_records', schema=None) as batch_op:
        batch_op.create_index('ix_quarantined_records_shop_id', ['shop_id'], unique=False)
    with op.batch_alter_table('pull_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('set_aside', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('pull_runs', schema=None) as batch_op:
        batch_op.drop_column('set_aside')
    with op.batch_alter_table('quarantined_records', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantined_records_shop_id')
    op.drop_table('quarantined_records')
