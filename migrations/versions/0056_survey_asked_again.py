"""满意度回访 may ask a case's buyer a second time: after they said the problem was not
solved and the case was reopened and closed again. ``case_surveys.case_id`` is no longer
unique (an index instead).

The downgrade keeps each case's latest survey and deletes its earlier one, since the old
schema holds one per case.

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-05 12:00:00

"""

from alembic import op

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_surveys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_case_surveys_case_id", type_="unique")
        batch_op.create_index("ix_case_surveys_case_id", ["case_id"], unique=False)


def downgrade():
    op.execute(
        "DELETE FROM case_surveys WHERE id NOT IN"
        " (SELECT latest FROM (SELECT MAX(id) AS latest FROM case_surveys GROUP BY case_id)"
        " AS kept)"
    )
    with op.batch_alter_table("case_surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_case_surveys_case_id")
        batch_op.create_unique_constraint("uq_case_surveys_case_id", ["case_id"])
