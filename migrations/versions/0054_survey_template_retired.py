"""A shop whose 满意度回访 template was retired stops sending surveys. Since this revision
retiring the template clears the shop's choice (audited); before, the scheduler went on
sending the retired text to every closed case. Each choice cleared here is audited as the
system's change.

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-05 07:00:00

"""

from alembic import op

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None

RETIRED = (
    "shops.survey_template_id IN"
    " (SELECT message_templates.id FROM message_templates WHERE NOT message_templates.is_active)"
)


def upgrade():
    op.execute(
        "INSERT INTO audit_events (occurred_at, actor_id, entity_type, entity_id, case_id,"
        " field, old_value, new_value)"
        " SELECT CURRENT_TIMESTAMP, NULL, 'shop', shops.id, NULL, 'survey_template_id',"
        f" CAST(shops.survey_template_id AS VARCHAR(20)), NULL FROM shops WHERE {RETIRED}"
    )
    op.execute(f"UPDATE shops SET survey_template_id = NULL WHERE {RETIRED}")


def downgrade():
    pass  # which template it was is in the audit trail; nobody would want it sent again
