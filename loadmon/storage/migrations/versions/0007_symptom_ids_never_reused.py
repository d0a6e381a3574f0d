"""symptoms.id is never reused on SQLite (AUTOINCREMENT): a symptom logged after one was deleted
must not take its id, or the deleted symptom's withdrawn alerts (their dedupe keys hold the
symptom id) would be reinstated for the new one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:30:00
"""
from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL sequences never hand out an id twice; SQLite reuses the largest rowid once its
    # row is deleted unless the table is AUTOINCREMENT (a table option: the table is rebuilt)
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('symptoms', recreate='always', table_kwargs={'sqlite_autoincrement': True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('symptoms', recreate='always', table_kwargs={'sqlite_autoincrement': False}):
            pass
