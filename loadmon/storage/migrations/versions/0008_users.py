"""users: web logins (`loadmon user add`), each tied to an athlete, with a role and an Argon2id hash

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('athlete_id', sa.BigInteger(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name='fk_users_athlete_id_athletes', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_users'),
        sa.UniqueConstraint('name', name='uq_users_name'),
    )
    op.create_index('ix_users_athlete_id', 'users', ['athlete_id'])


def downgrade() -> None:
    op.drop_index('ix_users_athlete_id', table_name='users')
    op.drop_table('users')
