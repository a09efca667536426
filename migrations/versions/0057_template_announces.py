"""A notice template says which remedy it tells the buyer was arranged
(``message_templates.announces``: resend, exchange, refund, coupon, gift, or none); a case
sends it only when that remedy is recorded. Templates registered before stay NULL: not
said, so nothing is held back until an admin says.

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-05 15:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0057"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announces", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_column("announces")
