"""A password an admin set (a new user's first, a reset) is temporary: its owner chooses
their own before anything else. ``users.temporary_password_at`` says since when; choosing
one's own (修改密码) clears it. Existing users keep theirs as they are.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-01 05:30:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "temporary_password_at", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("temporary_password_at")
