"""alerts.acknowledged_at: when the runner acknowledged the alert (`loadmon alerts ack`, the web page)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # null for the alerts stored before: nobody acknowledged them
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('acknowledged_at')
