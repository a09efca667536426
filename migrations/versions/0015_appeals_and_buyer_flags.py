"""Appeals to the platform (评价申诉) on a case, and staff flags on abusive buyers.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 21:15:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appeal_state', sa.Enum('submitted', 'accepted', 'rejected', name='appealstate', native_enum=False, length=32, create_constraint=False), nullable=True))
        batch_op.add_column(sa.Column('appeal_reason', sa.Enum('abuse', 'advertising', 'extortion', 'privacy', 'other', name='appealreason', native_enum=False, length=32, create_constraint=False), nullable=True))
        batch_op.add_column(sa.Column('appeal_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('appealed_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('appeal_decided_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('flagged_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('flagged_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_buyers_flagged_by_id_users'), 'users', ['flagged_by_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_buyers_flagged_by_id_users'), type_='foreignkey')
        batch_op.drop_column('flagged_by_id')
        batch_op.drop_column('flagged_at')
        batch_op.drop_column('flag_reason')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('appeal_decided_at')
        batch_op.drop_column('appealed_at')
        batch_op.drop_column('appeal_note')
        batch_op.drop_column('appeal_reason')
        batch_op.drop_column('appeal_state')
