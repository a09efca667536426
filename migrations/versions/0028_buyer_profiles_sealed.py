"""Buyers' names, addresses and birthdays are sealed with the personal-data key, as their
numbers already were (tracker.services.buyer_profiles): ``buyers.name``, ``region`` and
``birthday`` become one sealed token beside the hints lists need (郑**, a keyed fingerprint
of the name for exact search, the province, the birthday's month and day). Orders'
``receiver_region`` (an address per order, read by nothing) is folded into its buyer's
profile when the buyer had none, then dropped. The downgrade opens them again.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 19:00:00

"""
from datetime import date

from alembic import op
import sqlalchemy as sa

from tracker.services.buyer_profiles import Profile, columns, from_token
from tracker.vault import personal_vault

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

NEW_COLUMNS = ('profile_sealed', 'name_hint', 'name_fingerprint', 'area', 'birthday_md')


def upgrade():
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('name_hint', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('name_fingerprint', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('area', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('birthday_md', sa.SmallInteger(), nullable=True))
        batch_op.create_index(
            'ix_buyers_shop_id_name_fingerprint', ['shop_id', 'name_fingerprint'], unique=False
        )
    _seal_profiles()
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.drop_column('birthday')
        batch_op.drop_column('region')
        batch_op.drop_column('name')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('receiver_region')


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receiver_region', sa.VARCHAR(length=100), nullable=True))
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.VARCHAR(length=64), nullable=True))
        batch_op.add_column(sa.Column('region', sa.VARCHAR(length=100), nullable=True))
        batch_op.add_column(sa.Column('birthday', sa.DATE(), nullable=True))
    _open_profiles()
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.drop_index('ix_buyers_shop_id_name_fingerprint')
        for column in reversed(NEW_COLUMNS):
            batch_op.drop_column(column)


_buyers = sa.table(
    'buyers', sa.column('id', sa.Integer), sa.column('name', sa.String),
    sa.column('region', sa.String), sa.column('birthday', sa.Date),
    sa.column('profile_sealed', sa.Text), sa.column('name_hint', sa.String),
    sa.column('name_fingerprint', sa.String), sa.column('area', sa.String),
    sa.column('birthday_md', sa.SmallInteger),
)
_orders = sa.table(
    'orders', sa.column('buyer_id', sa.Integer), sa.column('paid_at', sa.DateTime),
    sa.column('receiver_region', sa.String),
)


def _seal_profiles():
    bind = op.get_bind()
    vault = personal_vault()
    latest_region = {}  # the newest order's address, for buyers with none of their own
    for buyer_id, region in bind.execute(
        sa.select(_orders.c.buyer_id, _orders.c.receiver_region)
        .where(_orders.c.receiver_region.is_not(None), _orders.c.receiver_region != '')
        .order_by(_orders.c.paid_at)
    ):
        latest_region[buyer_id] = region
    rows = bind.execute(
        sa.select(_buyers.c.id, _buyers.c.name, _buyers.c.region, _buyers.c.birthday)
    ).all()
    for buyer_id, name, region, birthday in rows:
        if isinstance(birthday, str):  # SQLite hands a DATE back as text here
            birthday = date.fromisoformat(birthday)
        profile = Profile(name, region or latest_region.get(buyer_id), birthday)
        values = columns(profile, vault)
        if values['profile_sealed'] is not None:
            bind.execute(_buyers.update().where(_buyers.c.id == buyer_id).values(**values))


def _open_profiles():
    bind = op.get_bind()
    vault = personal_vault()
    rows = bind.execute(
        sa.select(_buyers.c.id, _buyers.c.profile_sealed).where(
            _buyers.c.profile_sealed.is_not(None)
        )
    ).all()
    for buyer_id, sealed in rows:
        profile = from_token(sealed, vault)
        bind.execute(
            _buyers.update()
            .where(_buyers.c.id == buyer_id)
            .values(
                name=(profile.name or None) and profile.name[:64],
                region=(profile.region or None) and profile.region[:100],
                birthday=profile.birthday,
            )
        )
