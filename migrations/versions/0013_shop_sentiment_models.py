"""Sentiment models trained on a shop's own reviews, with their figures and rollback.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 20:20:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'shop_sentiment_models',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('trained_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('activated_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('examples', sa.Integer(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('decision', sa.Text(), nullable=False),
        sa.Column('description', sa.JSON(), nullable=False),
        sa.Column('arrays', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['shop_id'], ['shops.id'],
            name=op.f('fk_shop_sentiment_models_shop_id_shops'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_sentiment_models')),
        sa.UniqueConstraint(
            'shop_id', 'version', name=op.f('uq_shop_sentiment_models_shop_id_version')
        ),
    )
    op.create_index(
        'ix_shop_sentiment_models_shop_id_status',
        'shop_sentiment_models',
        ['shop_id', 'status'],
        unique=False,
    )
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'sentiment_retrain_requested_at',
                tracker.dbtypes.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade():
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('sentiment_retrain_requested_at')
    op.drop_index('ix_shop_sentiment_models_shop_id_status', table_name='shop_sentiment_models')
    op.drop_table('shop_sentiment_models')
