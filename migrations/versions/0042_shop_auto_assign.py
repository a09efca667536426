"""自动分配: ``shops.auto_assign``. When on, a new case whose buyer nobody works goes to the
shop's least-loaded agent at work instead of waiting in 未分配; off (the default) keeps the
claim-and-assign way.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-02 13:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_assign", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("auto_assign")
