"""The Store's core: connecting, the schema, one transaction per call, retries of a lost race.

The table-specific methods are mixins over :class:`StoreCore` (``athlete_store``,
``activity_store``, ``alert_store``, ``strava_store``, ``job_run_store``);
:class:`loadmon.storage.store.Store` composes them. SQLAlchemy and driver errors are translated
into :class:`loadmon.errors.StorageError` (the URL's password is never part of a message).
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Self

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from loadmon.domain import Activity
from loadmon.errors import NotFoundError, StorageError
from loadmon.storage import migrate

#: A write that lost a race to a concurrent writer (a unique key stored meanwhile) is re-run
#: this many times; the re-run sees the other writer's row (the same activity: a duplicate).
CONFLICT_RETRIES = 3
#: PostgreSQL transaction-level advisory lock namespace for the writes of one athlete's
#: activities (so two processes storing copies of one run see each other's rows).
_PG_ACTIVITY_LOCK = 0x6C6D6163  # "lmac"


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def _enable_wal(cur: sqlite3.Cursor, busy_timeout_s: float) -> None:
    """``PRAGMA journal_mode=WAL``, waiting up to ``busy_timeout_s`` for other connections.

    Switching a new (rollback-journal) file to WAL reads, then writes; when another process
    writes meanwhile, SQLite answers "database is locked" at once instead of calling the busy
    handler (it would deadlock). Each try releases its read lock, so trying again after a short
    pause lets the other writer finish. On a file already in WAL mode the first try succeeds.
    """
    deadline = time.monotonic() + busy_timeout_s
    pause_s = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() + pause_s > deadline:
                raise
        time.sleep(pause_s * (0.5 + random.random()))  # jitter: racing processes do not retry in step
        pause_s = min(pause_s * 2, 0.2)


class StoreCore:
    """The lifecycle and the transactions every mixin of :class:`loadmon.storage.store.Store` uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)
        # (athlete id, until) -> (activity revision, activities): see ActivityStoreMixin.list_activities
        self._activity_lists: OrderedDict[tuple[int, date | None], tuple[int, tuple[Activity, ...]]] = OrderedDict()
        self._activity_lists_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True, echo: bool = False, busy_timeout_s: float = 30.0) -> Self:
        """Connect; create and upgrade the schema to head when ``migrate_schema``.

        A SQLite file is created with mode 0600 (it holds Strava tokens) in a 0700 folder. On
        SQLite a writer waits up to ``busy_timeout_s`` for another process's write to finish,
        and every transaction takes the write lock when it starts (``BEGIN IMMEDIATE``), so a
        transaction that reads, then writes, never fails on a lock another process took after
        its read; on PostgreSQL ``busy_timeout_s`` is the lock timeout of each statement.
        """
        try:
            parsed = make_url(url)
        except Exception:
            raise StorageError(f"database URL is not valid: {_safe_url(url)}", reason="invalid_url") from None
        # hide_parameters: with echo (and in error messages) the SQL is shown without its values,
        # which include the Strava tokens
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:":
                path = Path(db)
                if not migrate_schema and not path.exists():  # a reader (daemon status) never creates the file
                    raise StorageError(f"no database at {path} yet (loadmon creates it on first use)", reason="schema")
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not path.exists():
                    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                    os.close(fd)
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            kwargs["connect_args"] = {"timeout": busy_timeout_s}
        elif parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"options": f"-c lock_timeout={int(busy_timeout_s * 1000)}"}
        try:
            engine = create_engine(parsed, **kwargs)
        except Exception as exc:
            raise StorageError(f"cannot use database {_safe_url(url)}: {type(exc).__name__}", reason="invalid_url") from None
        if engine.dialect.name == "sqlite":
            busy_ms = int(busy_timeout_s * 1000)

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout={busy_ms}")  # first: the pragmas below may wait for a lock
                cur.execute("PRAGMA foreign_keys=ON")
                _enable_wal(cur, busy_timeout_s)
                cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes, fsync at checkpoints
                cur.close()
        store = cls(engine)
        if migrate_schema:
            store.upgrade()
        else:
            store.check_schema()
        return store

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self, revision: str = "head") -> None:
        """Upgrade the schema; processes that start at once on a new database take turns
        (:func:`loadmon.storage.migrate.upgrade`)."""
        self.check_reachable()
        if revision == "head" and migrate.at_head(self.engine):  # the usual case: no alembic at start-up
            return
        try:
            migrate.upgrade(self.engine, revision)
        except SQLAlchemyError as exc:
            raise storage_error(exc, f"cannot upgrade the schema of {_safe_url(str(self.engine.url))}",
                                default="schema") from None

    def check_reachable(self) -> None:
        """Connect once: a failure here is ``unreachable`` (and only here), except a lock held
        past the busy timeout while the connection is set up (``busy``)."""
        try:
            with self.engine.connect():
                pass
        except SQLAlchemyError as exc:
            error = storage_error(exc, f"cannot open database {_safe_url(str(self.engine.url))}")
            if error.reason == "busy":  # reached, but another process held the lock past the timeout
                raise error from None
            raise StorageError(f"cannot reach database {_safe_url(str(self.engine.url))}: {getattr(exc, 'orig', exc)}",
                               reason="unreachable") from None

    def schema_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def check_schema(self) -> None:
        self.check_reachable()
        current, head = self.schema_revision(), migrate.head_revision()
        if current != head:
            raise StorageError(f"database schema is at {current or 'nothing'}, loadmon needs {head}: run `loadmon db upgrade`",
                               reason="schema")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; errors become StorageError (an IntegrityError is passed on for the
        caller that expects one, e.g. a concurrent insert of the same key).

        On SQLite the transaction takes the write lock first (``BEGIN IMMEDIATE``), waiting
        up to the busy timeout for another writer, so its reads are never stale when it writes.
        """
        s = self._session()
        try:
            with s.begin():
                if self.dialect == "sqlite":
                    _begin_immediate(s)
                yield s
        except (StorageError, NotFoundError):
            raise
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise storage_error(exc, "database error") from exc
        finally:
            s.close()

    @contextmanager
    def _activity_writes(self, athlete_id: int) -> Iterator[Session]:
        """A write transaction for one athlete's activities; on PostgreSQL writers of the same
        athlete take turns, so each sees the copies of a run the other stored."""
        with self.session() as s:
            if self.dialect == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"),
                          {"ns": _PG_ACTIVITY_LOCK, "k": int(athlete_id) & 0x7FFFFFFF})
            yield s

    def _retrying(self, what: str, fn: Any) -> Any:
        """Run ``fn()`` (one transaction) again when a concurrent writer stored the same unique
        key first: the re-run sees that row."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                return fn()
            except IntegrityError as exc:
                if attempt == CONFLICT_RETRIES - 1:
                    raise StorageError(f"{what}: a concurrent writer kept storing the same data: "
                                       f"{type(getattr(exc, 'orig', exc)).__name__}") from None
        raise AssertionError("unreachable")  # pragma: no cover


def _begin_immediate(s: Session) -> None:
    """Take SQLite's write lock now (waiting up to the busy timeout), on the driver's connection:
    transaction control, not a query (statement counters and echo do not see it)."""
    try:
        driver = s.connection().connection.driver_connection
        assert driver is not None  # a checked-out pool connection always has its driver connection
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise OperationalError("BEGIN IMMEDIATE", None, exc) from None


def storage_error(exc: SQLAlchemyError, doing: str, *, default: str = "error") -> StorageError:
    """A SQLAlchemy error as a StorageError whose ``reason`` says what happened (never parse it):
    a lost connection is ``unreachable``, a lock held past the timeout ``busy``."""
    orig = getattr(exc, "orig", exc)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StorageError(f"{doing}: lost the connection to the database: {orig}", reason="unreachable")
    lowered = str(orig).lower()
    if isinstance(exc, OperationalError) and ("database is locked" in lowered or "lock timeout" in lowered
                                              or "database table is locked" in lowered):
        return StorageError(f"{doing}: the database stayed locked by another writer past the busy timeout "
                            f"(database.busy_timeout_s): {orig}", reason="busy")
    return StorageError(f"{doing}: {type(exc).__name__}: {orig}", reason=default)
