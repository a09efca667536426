"""换休: ``shift_requests.swap_day``, the colleague's day an agent works in return for a
swap (I take your Tuesday, you take my Saturday): both days are agreed, decided and set
together, never one without the other.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-02 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shift_requests") as batch:
        batch.add_column(sa.Column("swap_day", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("shift_requests") as batch:
        batch.drop_column("swap_day")
