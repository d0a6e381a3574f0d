"""deliveries.claimed_by: the lease token of the sender that claimed an outbox row

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 17:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: not claimed (rows claimed before the upgrade lapse with their claimed_until as before)
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('claimed_by')
