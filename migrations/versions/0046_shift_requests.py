"""调班申请: ``shift_requests``, an agent asking for a day off, other hours or a swap with a
colleague; the colleague agrees, a supervisor decides, and only then is the day set.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-02 20:00:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shift_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("periods", tracker.dbtypes.JSONDocument, nullable=True),
        sa.Column("swap_with_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "with_colleague",
                "pending",
                "approved",
                "declined",
                "withdrawn",
                name="shiftrequeststate",
                native_enum=False,
                length=32,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("created_at", tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_shift_requests_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_shift_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["swap_with_id"],
            ["users.id"],
            name=op.f("fk_shift_requests_swap_with_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_shift_requests_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_requests")),
    )
    op.create_index(
        "ix_shift_requests_shop_id_state", "shift_requests", ["shop_id", "state"], unique=False
    )
    op.create_index(
        "ix_shift_requests_user_id_day", "shift_requests", ["user_id", "day"], unique=False
    )


def downgrade():
    op.drop_index("ix_shift_requests_user_id_day", table_name="shift_requests")
    op.drop_index("ix_shift_requests_shop_id_state", table_name="shift_requests")
    op.drop_table("shift_requests")
