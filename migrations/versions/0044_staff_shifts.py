"""班次: ``users.shift``, an agent's own working periods and weekdays (None: the shop's
hours). 自动分配 gives a new case to whoever is on shift, else to whoever starts first.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-02 17:00:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        # jsonb on PostgreSQL: queries SELECT DISTINCT users, and json has no equality
        batch_op.add_column(sa.Column("shift", tracker.dbtypes.JSONDocument, nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("shift")
