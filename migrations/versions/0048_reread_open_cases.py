"""Reading open cases' reviews again: ``shops.reread_at`` (when a pull last asked the
platform for them), ``pull_runs.reread`` (how many a run asked for) and
``reviews.unseen_since`` (asked for, the platform did not return it: maybe deleted, never
taken for it). A listing only brings reviews posted since the last pull, so without this a
revision, a deletion or a 追评 made later never reached intake from a platform's API.

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-02 21:30:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reread_at", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("pull_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reread", sa.Integer(), nullable=False, server_default="0"))
    # Not in batch mode: SQLite adds a column in place, and a copied table would lose the
    # review counts' and the text index's triggers (migrations 0032, 0034, 0037).
    op.add_column(
        "reviews",
        sa.Column("unseen_since", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade():
    op.drop_column("reviews", "unseen_since")  # SQLite 3.35+ drops a column in place
    with op.batch_alter_table("pull_runs", schema=None) as batch_op:
        batch_op.drop_column("reread")
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("reread_at")
