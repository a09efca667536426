"""Each shop sentiment model's out-of-fold scores: ``shop_sentiment_models.out_of_fold``.
The weekly job now judges a candidate on every review of the shop, each scored by a model
of the same recipe that did not learn from it (five folds by text). The model it deploys
learns from every review; next week, when it is the model to beat, these scores stand in
for its own on the reviews it learned from.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-03 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "shop_sentiment_models", sa.Column("out_of_fold", sa.LargeBinary(), nullable=True)
    )


def downgrade():
    op.drop_column("shop_sentiment_models", "out_of_fold")  # SQLite 3.35+ drops in place
