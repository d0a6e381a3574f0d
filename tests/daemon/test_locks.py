"""The single-instance lock: a file lock next to a SQLite file, an advisory lock on PostgreSQL."""

from __future__ import annotations

import pytest

from loadmon.errors import DaemonLockedError
from loadmon.service import Service, jobs
from tests.conftest import make_config


def _open(tmp_path, url=None) -> Service:
    return Service.open(make_config(tmp_path, database_url=url))


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
        lock.release()
        assert not lock.check()
        again = jobs.acquire_daemon_lock(b)
        assert again.check()
        again.release()
    finally:
        a.close()
        b.close()
