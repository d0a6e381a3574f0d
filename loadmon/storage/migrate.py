"""Alembic migrations, run programmatically (no alembic.ini needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from loadmon.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision`` in one transaction. Several processes starting at once on a new
    database take turns: a lock file next to a SQLite database, a transaction-level advisory
    lock on PostgreSQL; the later ones then find the schema at ``revision`` and do nothing."""
    cfg = alembic_config()
    with _schema_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
