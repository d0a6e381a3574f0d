"""Alembic migrations, run programmatically (no alembic.ini needed).

alembic is imported only when a migration may be needed: :func:`at_head` answers "is the
database at the newest migration?" with one query, which spares every command the ~0.1-0.2 s
of importing alembic (and mako, pygments) at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

from loadmon.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)
_PLAIN_ID = re.compile(r"""^(?:None|'([\w-]+)'|"([\w-]+)")$""")


def head_from_files() -> str | None:
    """The newest revision, read from the ``revision`` / ``down_revision`` lines of the migration
    files; None when that is not a single plain chain (then ask alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for file in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(file.read_text(encoding="utf-8")))
        ids = {}
        for key in ("revision", "down_revision"):
            m = _PLAIN_ID.match(found.get(key, ""))
            if m is None:
                return None
            ids[key] = m.group(1) or m.group(2)
        if ids["revision"] is None:
            return None
        revisions.add(ids["revision"])
        if ids["down_revision"]:
            parents.add(ids["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """True when the database is at the newest migration (one query, no alembic); False when it
    is not, or when that cannot be told cheaply (no schema yet, an unusual chain)."""
    head = head_from_files()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == [head]
    except SQLAlchemyError:
        return False


def alembic_config(url: str | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


#: PostgreSQL transaction-level advisory lock key held while the schema is upgraded.
PG_MIGRATE_LOCK = 0x6C6D6D67  # "lmmg"
MIGRATE_LOCK_SUFFIX = ".migrate.lock"
MIGRATE_LOCK_WAIT_S = 300


def migrate_lock_path(engine: Engine) -> Path | None:
    """``<database file>.migrate.lock`` for a SQLite file; None otherwise."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    db = Path(url.database).resolve()
    return db.with_name(db.name + MIGRATE_LOCK_SUFFIX)


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[None]:
    """Processes upgrading the same SQLite file take turns (a lock file next to it)."""
    path = migrate_lock_path(engine)
    if path is None:
        yield
        return
    import filelock

    lock = filelock.FileLock(str(path), timeout=MIGRATE_LOCK_WAIT_S, thread_local=False, is_singleton=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise StorageError(f"another loadmon process kept upgrading the database schema for {MIGRATE_LOCK_WAIT_S} s "
                           f"(lock file {path})", reason="busy") from None
    except OSError as exc:
        raise StorageError(f"cannot create the schema lock file {path}: {exc.strerror}", reason="error") from None
    try:
        yield
    finally:
        lock.release()


def upgrade(engine: Engine, revision: str = "head", *, from_models: bool = True) -> None:
    """Upgrade to ``revision`` in one transaction. Several processes starting at once on a new
    database take turns: a lock file next to a SQLite database, a transaction-level advisory
    lock on PostgreSQL; the later ones then find the schema at ``revision`` and do nothing.

    A database without any table (a new one) upgraded to head is made from the models at once
    (``create_all``, the triggers of :mod:`loadmon.storage.triggers`, then stamped at head) instead
    of running every migration in turn (SQLite rebuilds a table for each column change: 0.15 s);
    a test checks both ways give the same schema. ``from_models=False`` runs the migrations."""
    from alembic import command
    from sqlalchemy import inspect

    cfg = alembic_config()
    with _schema_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        if from_models and revision == "head" and not inspect(conn).get_table_names():
            from loadmon.storage import triggers
            from loadmon.storage.models import Base

            Base.metadata.create_all(conn)
            for statement in triggers.statements(conn.dialect.name):
                conn.exec_driver_sql(statement)
            command.stamp(cfg, "head")
        else:
            command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
