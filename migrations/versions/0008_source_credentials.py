"""Platform credentials per shop, sealed at rest; a shop can ask for an immediate pull.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 18:10:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'source_credentials',
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
        sa.Column('hint', sa.String(length=200), nullable=False),
        sa.Column('updated_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_source_credentials_shop_id_shops'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_source_credentials_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_source_credentials')),
    )
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pull_requested_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('pull_requested_at')
    op.drop_table('source_credentials')
