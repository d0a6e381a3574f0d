"""activities.steep_descent_m: descent on stretches at -8 % or steeper

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the activities stored before: "not measured", never 0 (a re-import or re-sync measures it)
    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('steep_descent_m', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('activities') as batch:
        batch.drop_column('steep_descent_m')
