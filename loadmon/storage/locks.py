"""The daemon's single-instance lock, one per database.

- SQLite: an exclusive ``flock`` (the filelock package) on ``<database file>.daemon.lock``,
  next to the database. The kernel drops it when the process dies, even on SIGKILL. The lock
  object is not thread-local (``thread_local=False``): the daemon checks it from a scheduler
  thread, and filelock's default per-thread context reads "not locked" there.
- PostgreSQL: ``pg_try_advisory_lock`` on a connection held for the daemon's lifetime
  (advisory locks belong to one database; the server drops it when the session ends).
- SQLite in memory: a lock inside this process only (nothing else can open that database).

:func:`acquire_daemon_lock` raises :class:`DaemonLockedError` naming the lock when another
daemon holds it. The caller keeps the returned :class:`DaemonLock` and calls ``release()``.
:func:`daemon_lock_held` tells another process (``daemon status``) whether a daemon holds it.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from loadmon.errors import DaemonLockedError, StorageError

if TYPE_CHECKING:  # pragma: no cover
    from loadmon.storage.store import Store

# pg_try_advisory_lock(bigint): a fixed key, the 8 ASCII bytes "lmdaemon" big-endian (7813011298033954670).
PG_ADVISORY_KEY = int.from_bytes(b"lmdaemon", "big", signed=True)
LOCK_SUFFIX = ".daemon.lock"
ACQUIRE_WAIT_S = 1.0  # a `daemon status` probe holds the file lock for microseconds: wait that out, not more
_memory_lock = threading.Lock()


class DaemonLock:
    """A held daemon lock. ``description`` names it for messages and ``daemon status``."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.released = False

    def check(self) -> bool:
        """True while the lock is still held (a PostgreSQL session can be lost)."""
        return not self.released

    def release(self) -> None:
        self.released = True


class _FileDaemonLock(DaemonLock):
    def __init__(self, path: Path) -> None:
        super().__init__(f"lock file {path}")
        import filelock

        self.path = path
        # thread_local=False: check() runs in a scheduler thread, release() in the main thread.
        self._lock = filelock.FileLock(str(path), timeout=ACQUIRE_WAIT_S, thread_local=False)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise DaemonLockedError(
                f"another loadmon daemon is already running on this database: the lock file {path} is held "
                f"(stop the other daemon first{_pid_hint(path)})") from None
        except OSError as exc:
            raise StorageError(f"cannot create the daemon lock file {path}: {exc.strerror}") from None
        self._inode = _inode(path)  # the file we locked: a lock file deleted or replaced is a lost lock
        try:  # who holds it, for the message a second daemon prints (the lock file itself is truncated on open)
            _pid_file(path).write_text(f"{os.getpid()}\n", encoding="ascii")
        except OSError:
            pass

    def check(self) -> bool:
        """Held by this object (from any thread) and still the file at ``path``."""
        return not self.released and self._lock.is_locked and self._inode is not None and _inode(self.path) == self._inode

    def release(self) -> None:
        if not self.released:
            try:  # only our own pid: after a lost lock the file may name the daemon that took it
                if _pid_file(self.path).read_text(encoding="ascii").strip() == str(os.getpid()):
                    _pid_file(self.path).unlink(missing_ok=True)
            except OSError:
                pass
            self._lock.release()
        super().release()


class _MemoryDaemonLock(DaemonLock):
    def __init__(self) -> None:
        super().__init__("in-process lock (SQLite in memory)")
        if not _memory_lock.acquire(blocking=False):
            raise DaemonLockedError("another loadmon daemon is already running in this process (SQLite in memory)")

    def release(self) -> None:
        if not self.released:
            _memory_lock.release()
        super().release()


class _PgDaemonLock(DaemonLock):
    def __init__(self, store: Store) -> None:
        url = store.engine.url
        db = url.database or "?"
        host = url.host or "local socket"
        super().__init__(f"PostgreSQL advisory lock {PG_ADVISORY_KEY} on database {db!r} at {host}")
        self._conn: Connection | None = None
        try:
            conn = store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot connect to take the daemon lock: {type(exc).__name__}: {getattr(exc, 'orig', exc)}") from None
        try:
            got = conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_ADVISORY_KEY})
            holder = None if got else _pg_holder(conn)
        except SQLAlchemyError as exc:
            conn.close()
            raise StorageError(f"cannot take the daemon lock: {type(exc).__name__}: {getattr(exc, 'orig', exc)}") from None
        if not got:
            conn.close()
            who = f" (held by server process {holder})" if holder else ""
            raise DaemonLockedError(
                f"another loadmon daemon is already running on this database: the {self.description} is held{who}; "
                "stop the other daemon first")
        self._conn = conn

    def check(self) -> bool:
        if self.released or self._conn is None:
            return False
        try:
            return bool(self._conn.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted")))
        except SQLAlchemyError:
            return False

    def release(self) -> None:
        if not self.released and self._conn is not None:
            release_pg_advisory(self._conn, "SELECT pg_advisory_unlock(:k)", {"k": PG_ADVISORY_KEY})
            self._conn = None
        super().release()


def release_pg_advisory(conn: Any, unlock_sql: str, params: dict[str, int]) -> None:
    """Unlock a session-level advisory lock and close its connection; a dead session already
    released the lock, so errors here are ignored."""
    try:
        conn.execute(text(unlock_sql), params)
    except SQLAlchemyError:
        pass  # the session is gone, and the lock with it
    finally:
        try:
            conn.close()
        except SQLAlchemyError:
            pass


def _pg_holder(conn: Any) -> int | None:
    """The server process holding the daemon's advisory lock on this database, or None."""
    return conn.scalar(text(
        "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = :k LIMIT 1"), {"k": PG_ADVISORY_KEY})


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _file_lock_held(path: Path) -> bool:
    """Whether some process holds the ``flock`` on ``path`` (a shared lock taken and dropped at once)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)  # closing drops our shared lock
    return False


def daemon_lock_held(store: Store) -> tuple[bool | None, int | None]:
    """(held, pid) for ``daemon status``: whether a daemon (or scheduler) holds this database's
    lock, and the pid it recorded (SQLite) or the server process holding it (PostgreSQL).
    ``held`` is None when it cannot be known (in-memory SQLite, a platform without ``flock``)."""
    if store.engine.url.get_backend_name() == "postgresql":
        try:
            with store.engine.connect() as conn:
                holder = _pg_holder(conn)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read the daemon lock: {type(exc).__name__}: {getattr(exc, 'orig', exc)}") from None
        return holder is not None, holder
    path = daemon_lock_path(store)
    if path is None:
        return None, None
    try:
        held = _file_lock_held(path)
    except (ImportError, OSError):
        return None, None
    try:
        pid_text = _pid_file(path).read_text(encoding="ascii").strip()
    except OSError:
        pid_text = ""
    return held, int(pid_text) if pid_text.isdigit() else None


def _pid_file(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".pid")


def _pid_hint(lock_path: Path) -> str:
    try:
        pid = _pid_file(lock_path).read_text(encoding="ascii").strip()
    except OSError:
        return ""
    return f"; it is process {pid}" if pid.isdigit() else ""


def daemon_lock_path(store: Store) -> Path | None:
    """Where the SQLite lock file lives (None for PostgreSQL and in-memory SQLite)."""
    url = store.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().with_name(Path(url.database).name + LOCK_SUFFIX)


def acquire_daemon_lock(store: Store) -> DaemonLock:
    """Take the single-instance lock for ``store``'s database, or raise DaemonLockedError."""
    backend = store.engine.url.get_backend_name()
    if backend == "postgresql":
        return _PgDaemonLock(store)
    path = daemon_lock_path(store)
    if path is None:
        return _MemoryDaemonLock()
    return _FileDaemonLock(path)


__all__: list[Any] = ["DaemonLock", "acquire_daemon_lock", "daemon_lock_held", "daemon_lock_path", "PG_ADVISORY_KEY"]
