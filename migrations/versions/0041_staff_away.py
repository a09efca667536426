"""Staff away (leave, sick, training): ``users.away_until``, the moment they are back. While
it lies ahead, intake gives them no buyer's new case, nobody can assign them one and the
alerts for their cases go to the supervisors.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-02 12:00:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("away_until", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("away_until")
