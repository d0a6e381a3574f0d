"""Work locks: "one worker at a time" for one unit of work (an athlete's sync, the folder scan).

Several ``loadmon worker`` processes, on several hosts, share one database. Two of them must
never sync the same athlete at the same time (each would list and fetch the same Strava pages,
spending the shared request budget twice). :func:`try_work_lock` takes a non-blocking lock
named by a namespace and an integer key:

- PostgreSQL: ``pg_try_advisory_lock(namespace, key)`` (the two-``int4`` form) on a connection
  held while the lock is held, in autocommit mode (the work itself runs in its own short
  transactions, one per Strava page). The server drops the lock when the session ends, so a
  worker killed with SIGKILL, or a host that vanished, never leaves an athlete locked (once
  the server notices the dead connection: at once for a killed process, after TCP keepalive
  for a lost host).
- SQLite file: an exclusive ``flock`` on ``<database>.locks/<namespace>-<key>.lock`` (the
  kernel drops it when the process dies).
- SQLite in memory: a lock inside this process.

The namespaces never collide with the daemon's single-instance lock
(:mod:`loadmon.storage.locks` uses the one-``bigint`` form, which PostgreSQL keeps apart).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from loadmon.errors import StorageError
from loadmon.storage.locks import release_pg_advisory

if TYPE_CHECKING:  # pragma: no cover
    from loadmon.storage.store import Store

INT4 = 2**31


def namespace_key(namespace: str) -> int:
    """A stable signed 32-bit number for ``namespace`` (crc32), the first advisory-lock key."""
    n = zlib.crc32(f"loadmon:{namespace}".encode())
    return n - 2**32 if n >= INT4 else n


def object_key(key: int) -> int:
    """``key`` as the second (signed 32-bit) advisory-lock key; ids past 2**31 are folded."""
    key = int(key)
    if -INT4 <= key < INT4:
        return key
    folded = zlib.crc32(key.to_bytes(16, "big", signed=True))
    return folded - 2**32 if folded >= INT4 else folded


class WorkLock:
    """A held work lock; ``release()`` it (also a context manager)."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.released = False

    def release(self) -> None:
        self.released = True

    def __enter__(self) -> WorkLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class _PgWorkLock(WorkLock):
    def __init__(self, conn: Connection, description: str, ns: int, key: int) -> None:
        super().__init__(description)
        self._conn: Connection | None = conn
        self._ns, self._key = ns, key

    def release(self) -> None:
        if not self.released and self._conn is not None:
            release_pg_advisory(self._conn, "SELECT pg_advisory_unlock(:ns, :k)", {"ns": self._ns, "k": self._key})
            self._conn = None
        super().release()


class _FileWorkLock(WorkLock):
    def __init__(self, lock: object, description: str) -> None:
        super().__init__(description)
        self._lock = lock

    def release(self) -> None:
        if not self.released:
            self._lock.release()  # type: ignore[attr-defined]
        super().release()


_memory_locks: dict[tuple[str, int], threading.Lock] = {}
_memory_guard = threading.Lock()


class _MemoryWorkLock(WorkLock):
    def __init__(self, lock: threading.Lock, description: str) -> None:
        super().__init__(description)
        self._lock = lock

    def release(self) -> None:
        if not self.released:
            self._lock.release()
        super().release()


def lock_dir(store: Store) -> Path | None:
    """Where SQLite work-lock files live (None for PostgreSQL and in-memory SQLite)."""
    url = store.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    db = Path(url.database).resolve()
    return db.with_name(db.name + ".locks")


def try_work_lock(store: Store, namespace: str, key: int) -> WorkLock | None:
    """Take the lock ``(namespace, key)`` now, or return None when someone else holds it."""
    description = f"work lock {namespace}:{key}"
    backend = store.engine.url.get_backend_name()
    if backend == "postgresql":
        ns, k = namespace_key(namespace), object_key(key)
        try:
            conn = store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot connect to take the {description}: {type(exc).__name__}: "
                               f"{getattr(exc, 'orig', exc)}") from None
        try:
            got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:ns, :k)"), {"ns": ns, "k": k}))
        except SQLAlchemyError as exc:
            conn.close()
            raise StorageError(f"cannot take the {description}: {type(exc).__name__}: {getattr(exc, 'orig', exc)}") from None
        if not got:
            conn.close()
            return None
        return _PgWorkLock(conn, f"{description} (PostgreSQL advisory lock {ns}, {k})", ns, k)
    folder = lock_dir(store)
    if folder is None:
        with _memory_guard:
            lock = _memory_locks.setdefault((namespace, int(key)), threading.Lock())
        return _MemoryWorkLock(lock, description) if lock.acquire(blocking=False) else None
    import filelock

    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the work-lock folder {folder}: {exc.strerror}") from None
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in namespace)
    flock = filelock.FileLock(str(folder / f"{safe}-{int(key)}.lock"), timeout=0, thread_local=False, is_singleton=False)
    try:
        flock.acquire()
    except filelock.Timeout:
        return None
    except OSError as exc:
        raise StorageError(f"cannot take the {description} in {folder}: {exc.strerror}") from None
    return _FileWorkLock(flock, f"{description} (lock file in {folder})")


@contextmanager
def work_lock(store: Store, namespace: str, key: int) -> Iterator[WorkLock | None]:
    """``with work_lock(store, "athlete", 7) as lock:`` - ``lock`` is None when it is busy."""
    lock = try_work_lock(store, namespace, key)
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()


def held_work_locks(store: Store, namespace: str) -> list[int]:
    """Keys of ``namespace`` currently locked by any session (PostgreSQL; [] elsewhere)."""
    if store.engine.url.get_backend_name() != "postgresql":
        return []
    with store.engine.connect() as conn:
        rows = conn.scalars(text(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid::bigint = :ns AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"ns": namespace_key(namespace) & 0xFFFFFFFF})
        return sorted(k - 2**32 if k >= INT4 else k for k in (int(r) for r in rows))


__all__ = ["WorkLock", "held_work_locks", "lock_dir", "namespace_key", "object_key", "try_work_lock", "work_lock"]
