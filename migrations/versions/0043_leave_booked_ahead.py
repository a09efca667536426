"""Leave booked ahead: ``users.away_from`` (when the leave starts) and
``users.away_hand_over`` (its open cases go to colleagues when it starts, not when booked).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-02 15:00:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("away_from", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("away_hand_over", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("away_hand_over")
        batch_op.drop_column("away_from")
