"""Orders keep their number backwards too (``orders.tid_reversed``, indexed with the shop),
so that 订单 finds an order by its last digits through an index instead of reading every
order of the shop: 1.2–1.5 s a search on a shop with two million orders. Existing orders
are filled here.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01 14:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tid_reversed", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite has no reverse(): lend it Python's for this connection
        bind.connection.driver_connection.create_function(
            "reverse", 1, lambda text: None if text is None else text[::-1], deterministic=True
        )
    op.execute("UPDATE orders SET tid_reversed = reverse(tid)")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("tid_reversed", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_orders_shop_id_tid_reversed", ["shop_id", "tid_reversed"])


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_shop_id_tid_reversed")
        batch_op.drop_column("tid_reversed")
