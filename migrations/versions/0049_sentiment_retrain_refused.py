"""Why a shop's last sentiment training trained nothing: ``shops.sentiment_retrain_refused``
({"at", "message"}). Before, an admin's 立即训练 on a shop with too little history cleared
the request and said nothing on the page; the reason went to the log only.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-03 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("shops", sa.Column("sentiment_retrain_refused", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("shops", "sentiment_retrain_refused")  # SQLite 3.35+ drops in place
