"""Open cases whose owner was deactivated, or no longer works for the case's shop, go back
to 未分配 (since this revision the account change does it; before, they stayed with someone
who could not log in, on nobody's board). Each is audited as the system's change.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-02 09:00:00

"""

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

# An open case whose owner cannot work it: deactivated, or (not an admin, who works every
# shop) no longer assigned to the case's shop.
STRANDED = (
    "cases.status IN ('new', 'contacting', 'waiting')"
    " AND cases.owner_id IN (SELECT users.id FROM users WHERE NOT users.is_active"
    " OR (users.role <> 'admin' AND NOT EXISTS (SELECT 1 FROM user_shops"
    " WHERE user_shops.user_id = users.id AND user_shops.shop_id = cases.shop_id)))"
)


def upgrade():
    op.execute(
        "INSERT INTO audit_events (occurred_at, actor_id, entity_type, entity_id, case_id,"
        " field, old_value, new_value)"
        " SELECT CURRENT_TIMESTAMP, NULL, 'case', cases.id, cases.id, 'owner',"
        " users.display_name, CASE WHEN users.is_active"
        " THEN '未分配（不再负责该店铺）' ELSE '未分配（账号已停用）' END"
        f" FROM cases JOIN users ON users.id = cases.owner_id WHERE {STRANDED}"
    )
    op.execute(f"UPDATE cases SET owner_id = NULL, version = version + 1 WHERE {STRANDED}")


def downgrade():
    pass  # who owned them is in the audit trail; nobody would want them stranded again
