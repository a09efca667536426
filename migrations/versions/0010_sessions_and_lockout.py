"""Revocable sessions (a generation per user) and lockout per user name and address.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:50:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failures',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name', 'address', name=op.f('pk_login_failures')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
        # counted per account before: a lock that anyone could set, for everyone
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_until')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_column('session_generation')
    op.drop_table('login_failures')
