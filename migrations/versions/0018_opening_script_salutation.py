"""The starter opening script greets the buyer by name, or 亲, instead of asking "请问是
{买家}吗" (which read the buyer's platform nick aloud when no name was on file). Only the
untouched starter text is changed; a shop's own edits stay.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 23:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OLD = "您好，请问是{买家}吗？我是店里的售后客服。看到您对{商品}的评价，特地打电话来了解一下情况，耽误您两分钟可以吗？"
NEW = "{买家}您好，我是店里的售后客服。看到您对{商品}的评价，特地来电了解一下情况，耽误您两分钟可以吗？"
_scripts = sa.table('scripts', sa.column('shop_id', sa.Integer), sa.column('body', sa.Text))


def _swap(old: str, new: str) -> None:
    op.execute(
        _scripts.update()
        .where(_scripts.c.shop_id.is_(None), _scripts.c.body == old)
        .values(body=new)
    )


def upgrade():
    _swap(OLD, NEW)


def downgrade():
    _swap(NEW, OLD)
