"""调班: ``shift_days``, the days an agent works otherwise than their 班次 says (a sale's
Saturday, a swapped day off). 自动分配, the alerts and 客服负荷 read them with the shift.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-02 18:00:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shift_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("periods", tracker.dbtypes.JSONDocument, nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_shift_days_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["users.id"],
            name=op.f("fk_shift_days_set_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_days")),
        sa.UniqueConstraint("user_id", "day", name=op.f("uq_shift_days_user_id_day")),
    )


def downgrade():
    op.drop_table("shift_days")
