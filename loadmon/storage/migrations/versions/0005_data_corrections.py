"""Data corrections: excluded activities, a completeness score for duplicate copies, withdrawn alerts

activities.excluded / excluded_reason: the user took the activity out of the load (kept, listed).
activities.quality: how complete the stored record is (records, distance, heart rate, device
serial; loadmon.storage.duplicates.completeness), to pick the best copy of a run; NULL for rows
stored before (scored from their columns).
alerts.state / withdrawn_at / withdrawn_reason: an alert whose condition no longer holds after a
correction is withdrawn (kept, never sent if it was not yet).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('excluded', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('excluded_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('quality', sa.Integer(), nullable=True))
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('state', sa.String(length=16), nullable=False, server_default='active'))
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('withdrawn_reason')
        batch.drop_column('withdrawn_at')
        batch.drop_column('state')
    with op.batch_alter_table('activities') as batch:
        batch.drop_column('quality')
        batch.drop_column('excluded_reason')
        batch.drop_column('excluded')
