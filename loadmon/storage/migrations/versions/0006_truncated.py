"""activities.truncated: read from a FIT file whose end is missing (`loadmon import --allow-truncated`)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # false for the activities stored before: --allow-truncated did not exist, a cut file was refused
    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('truncated', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('activities') as batch:
        batch.drop_column('truncated')
