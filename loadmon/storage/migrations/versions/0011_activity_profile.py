"""activity_profiles: each activity's thinned elevation profile (distance m, altitude m) for the web chart

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'activity_profiles',
        sa.Column('activity_id', sa.BigInteger(), nullable=False),
        sa.Column('points', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name='fk_activity_profiles_activity_id_activities',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('activity_id', name='pk_activity_profiles'),
    )


def downgrade() -> None:
    op.drop_table('activity_profiles')
