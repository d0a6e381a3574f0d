"""deliveries.bundle_id: the alerts of one evaluation go out as one message per channel

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the rows stored before: each of them is its own message, as it was
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('bundle_id', sa.BigInteger(), nullable=True))
        batch.create_index('ix_deliveries_bundle_id', ['bundle_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_index('ix_deliveries_bundle_id')
        batch.drop_column('bundle_id')
