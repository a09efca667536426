"""A buyer who asked for their personal data to be deleted keeps it deleted: when they
asked is kept on the buyer (read by imports and decrypts), taken for past erasures from
the access log's 删除个人信息 lines; an import job counts the rows whose personal data it
left out.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-01 00:30:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "personal_data_erased_at", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withheld", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE buyers SET personal_data_erased_at = ("
        " SELECT max(occurred_at) FROM audit_events"
        " WHERE audit_events.entity_type = 'buyer'"
        " AND audit_events.entity_id = buyers.id"
        " AND audit_events.field = 'personal_data_erased')"
    )


def downgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("withheld")
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_column("personal_data_erased_at")
