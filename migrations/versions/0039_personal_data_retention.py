"""A retention period for buyers' personal data (个人信息保护法 art. 19 and 47(1)(2)): a
buyer with no order, review or case for that many days loses the name, address, birthday,
numbers and notes kept about them, at night, as if they had asked. ``why`` tells the two
apart on the buyer page; erasures before this revision were the buyers' requests.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-02 06:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "personal_data_retention_days", sa.Integer(), nullable=True, server_default="1095"
            )
        )
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_data_erased_why", sa.String(16), nullable=True))
    op.execute(
        "UPDATE buyers SET personal_data_erased_why = 'request'"
        " WHERE personal_data_erased_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_column("personal_data_erased_why")
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("personal_data_retention_days")
