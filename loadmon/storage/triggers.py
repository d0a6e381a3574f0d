"""The database triggers of the newest schema, for a new database made from the models
(:func:`loadmon.storage.migrate.upgrade`): the activity revision counter of migration 0012.

Migrations keep their own copy of what they create (a migration never changes after release); a
test checks that a database made from the models and one made by every migration in turn have the
same triggers. A change here needs a new migration too.
"""

from __future__ import annotations

_BUMP = (
    "INSERT INTO activity_revisions (athlete_id, rev) VALUES ({who}.athlete_id, 1) "
    "ON CONFLICT (athlete_id) DO UPDATE SET rev = activity_revisions.rev + 1"
)

SQLITE = (
    f"CREATE TRIGGER activities_revision_insert AFTER INSERT ON activities BEGIN {_BUMP.format(who='NEW')}; END",
    f"CREATE TRIGGER activities_revision_delete AFTER DELETE ON activities BEGIN {_BUMP.format(who='OLD')}; END",
    f"CREATE TRIGGER activities_revision_update AFTER UPDATE ON activities BEGIN {_BUMP.format(who='OLD')}; END",
    "CREATE TRIGGER activities_revision_move AFTER UPDATE OF athlete_id ON activities "
    f"WHEN NEW.athlete_id <> OLD.athlete_id BEGIN {_BUMP.format(who='NEW')}; END",
)

POSTGRESQL = (
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
)


def statements(dialect: str) -> tuple[str, ...]:
    """The CREATE statements of the triggers on ``dialect`` (``sqlite`` or ``postgresql``)."""
    return POSTGRESQL if dialect == "postgresql" else SQLITE
