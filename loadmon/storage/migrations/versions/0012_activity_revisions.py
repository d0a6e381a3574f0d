"""activity_revisions: a counter per athlete that every change of their activities raises (triggers)

A process may keep an athlete's activity list while the counter stays the same
(``Store.list_activities``); the triggers see every write, from every process and every code path.
The table has no foreign key: an athlete's counter outlives them, so a new athlete that gets a
deleted one's id never meets a counter (and a kept list) from before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_BUMP = ("INSERT INTO activity_revisions (athlete_id, rev) VALUES ({who}.athlete_id, 1) "
         "ON CONFLICT (athlete_id) DO UPDATE SET rev = activity_revisions.rev + 1")

_SQLITE = [
    f"CREATE TRIGGER activities_revision_insert AFTER INSERT ON activities BEGIN {_BUMP.format(who='NEW')}; END",
    f"CREATE TRIGGER activities_revision_delete AFTER DELETE ON activities BEGIN {_BUMP.format(who='OLD')}; END",
    f"CREATE TRIGGER activities_revision_update AFTER UPDATE ON activities BEGIN {_BUMP.format(who='OLD')}; END",
    "CREATE TRIGGER activities_revision_move AFTER UPDATE OF athlete_id ON activities "
    f"WHEN NEW.athlete_id <> OLD.athlete_id BEGIN {_BUMP.format(who='NEW')}; END",
]

_POSTGRESQL = [
    f"""CREATE FUNCTION loadmon_activities_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    {_BUMP.format(who='OLD')};
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.athlete_id IS DISTINCT FROM OLD.athlete_id) THEN
    {_BUMP.format(who='NEW')};
  END IF;
  RETURN NULL;
END $$""",
    "CREATE TRIGGER activities_revision AFTER INSERT OR UPDATE OR DELETE ON activities "
    "FOR EACH ROW EXECUTE FUNCTION loadmon_activities_revision()",
]


def upgrade() -> None:
    op.create_table(
        'activity_revisions',
        sa.Column('athlete_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rev', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('athlete_id', name='pk_activity_revisions'),
    )
    for statement in _POSTGRESQL if op.get_bind().dialect.name == 'postgresql' else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS activities_revision ON activities")
        op.execute("DROP FUNCTION IF EXISTS loadmon_activities_revision()")
    else:
        for name in ("insert", "delete", "update", "move"):
            op.execute(f"DROP TRIGGER IF EXISTS activities_revision_{name}")
    op.drop_table('activity_revisions')
