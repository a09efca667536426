"""Campaign recipients the shop's contact policy holds off for now (called an hour ago,
twice today) wait until ``not_before`` instead of being skipped for good.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-01 17:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_column("not_before")
