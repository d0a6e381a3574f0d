"""symptom_updates: later severity readings of a symptom (`loadmon symptom update`, the morning check-in)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'symptom_updates',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('symptom_id', sa.BigInteger(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('severity', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['symptom_id'], ['symptoms.id'], name='fk_symptom_updates_symptom_id_symptoms', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_symptom_updates'),
    )
    op.create_index('ix_symptom_updates_symptom_at', 'symptom_updates', ['symptom_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_symptom_updates_symptom_at', table_name='symptom_updates')
    op.drop_table('symptom_updates')
