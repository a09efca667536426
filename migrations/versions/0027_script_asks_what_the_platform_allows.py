"""The starter script that asks a satisfied buyer about the review says {更新评价}, filled in
on the case page as the shop's platform allows it (把评价改一下; on Tmall, where a review
cannot change, a 追评; on WeChat, the shop's 和解). Only the untouched starter is changed;
a shop's own edits stay.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 16:45:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

OLD = ("请求修改评价", "问题解决了您还满意的话，能否麻烦您在订单里把评价改一下？这对我们小店真的很重要，非常感谢{买家}的理解和支持！")
NEW = ("请买家更新评价", "问题解决了您还满意的话，能否麻烦您{更新评价}？这对我们小店真的很重要，非常感谢{买家}的理解和支持！")
_scripts = sa.table(
    'scripts',
    sa.column('shop_id', sa.Integer),
    sa.column('title', sa.String),
    sa.column('body', sa.Text),
)


def _swap(old: tuple[str, str], new: tuple[str, str]) -> None:
    op.execute(
        _scripts.update()
        .where(
            _scripts.c.shop_id.is_(None), _scripts.c.title == old[0], _scripts.c.body == old[1]
        )
        .values(title=new[0], body=new[1])
    )


def upgrade():
    _swap(OLD, NEW)


def downgrade():
    _swap(NEW, OLD)
