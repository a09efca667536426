"""A class of buyers alone sorted by 最近购买 (沉睡客户 by when they last bought, the list a
唤醒 campaign starts from): an index of each shop's segments by class and days since the
last order. Without it the list walked the shop's 最近购买 index from the latest buyer
until it reached the class, testing each segment (364–424 ms on SQLite, 159 / 188 on
PostgreSQL, for 182,000 沉睡客户 of 400,000 buyers); the class index names big or small
before the days, so it serves only a class's big or small buyers.

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-04 14:30:00

"""

from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None

NAME = "ix_buyer_segments_shop_id_klass_recency_days"


def upgrade():
    op.create_index(NAME, "buyer_segments", ["shop_id", "klass", "recency_days"], unique=False)


def downgrade():
    op.drop_index(NAME, table_name="buyer_segments")
