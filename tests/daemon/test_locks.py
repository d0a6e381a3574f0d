"""The single-instance lock: a file lock next to a SQLite file, an advisory lock on PostgreSQL."""

from __future__ import annotations

import os
import threading

import pytest

from loadmon.errors import DaemonLockedError
from loadmon.service import Service, jobs
from loadmon.storage.locks import daemon_lock_held
from tests.conftest import make_config


def _open(tmp_path, url=None) -> Service:
    return Service.open(make_config(tmp_path, database_url=url))


@pytest.mark.slow
def test_sqlite_lock_file_sits_next_to_the_database_and_excludes_a_second_daemon(tmp_path) -> None:
    a, b = _open(tmp_path), _open(tmp_path)
    try:
        lock = jobs.acquire_daemon_lock(a)
        assert lock.description == f"lock file {tmp_path / 'loadmon.sqlite.daemon.lock'}"
        assert lock.check()
        with pytest.raises(DaemonLockedError) as err:
            jobs.acquire_daemon_lock(b)
        assert str(tmp_path / "loadmon.sqlite.daemon.lock") in str(err.value)
        assert "another loadmon daemon is already running" in str(err.value)
        lock.release()
        assert not lock.check()
        again = jobs.acquire_daemon_lock(b)  # free again
        again.release()
    finally:
        a.close()
        b.close()


def test_a_different_database_has_its_own_lock(tmp_path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a, b = _open(tmp_path / "one"), _open(tmp_path / "two")
    try:
        la, lb = jobs.acquire_daemon_lock(a), jobs.acquire_daemon_lock(b)
        la.release()
        lb.release()
    finally:
        a.close()
        b.close()


@pytest.mark.postgres
def test_postgresql_advisory_lock_excludes_a_second_daemon_on_the_same_database(tmp_path, pg_database_url) -> None:
    a, b = _open(tmp_path, pg_database_url), _open(tmp_path, pg_database_url)
    try:
        lock = jobs.acquire_daemon_lock(a)
        assert "PostgreSQL advisory lock" in lock.description
        assert lock.check()
        with pytest.raises(DaemonLockedError) as err:
            jobs.acquire_daemon_lock(b)
        message = str(err.value)
        assert "advisory lock" in message and "held by server process" in message
        assert "@" not in message  # no credentials in the message
        held, holder = daemon_lock_held(b.store)  # `daemon status` sees it from another session
        assert held is True and isinstance(holder, int)
        lock.release()
        assert not lock.check()
        assert daemon_lock_held(b.store) == (False, None)
        again = jobs.acquire_daemon_lock(b)
        assert again.check()
        again.release()
    finally:
        a.close()
        b.close()


def test_sqlite_lock_checks_held_from_another_thread_and_lost_when_its_file_is_replaced(tmp_path) -> None:
    # The daemon takes its lock in the main thread and checks it from a scheduler thread.
    svc = _open(tmp_path)
    try:
        lock = jobs.acquire_daemon_lock(svc)
        seen: list[bool] = []
        worker = threading.Thread(target=lambda: seen.append(lock.check()))
        worker.start()
        worker.join()
        assert seen == [True]
        # Another process (`daemon status`) sees it held, and who holds it.
        assert daemon_lock_held(svc.store) == (True, os.getpid())

        # Someone deletes the lock file: a second daemon could lock a new one, so ours is lost.
        path = tmp_path / "loadmon.sqlite.daemon.lock"
        path.unlink()
        path.write_text("")
        assert lock.check() is False
        lock.release()
        assert daemon_lock_held(svc.store)[0] is False
    finally:
        svc.close()


def test_an_unused_database_has_a_free_lock(tmp_path) -> None:
    svc = _open(tmp_path)
    try:
        assert daemon_lock_held(svc.store) == (False, None)
    finally:
        svc.close()
