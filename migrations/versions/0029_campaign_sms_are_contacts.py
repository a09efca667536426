"""A campaign's SMS counts as a contact in the case contact policy (tracker.services.
contact_log): every case page and attempt reads a buyer's campaign SMS, by buyer.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-30 19:20:00

"""
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.create_index(
            'ix_campaign_recipients_buyer_id_sent_at', ['buyer_id', 'sent_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_recipients_buyer_id_sent_at')
