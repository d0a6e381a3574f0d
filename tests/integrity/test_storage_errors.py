"""A database error says what happened (issue 10 item 7): "cannot reach" only when no connection
could be made; a database that was reached but failed says so, with ``StorageError.reason``."""

from __future__ import annotations

import sqlite3

import pytest

from loadmon.errors import StorageError
from loadmon.storage import Store


def test_an_unreachable_server_is_unreachable() -> None:
    with pytest.raises(StorageError) as info:
        Store.open("postgresql://user:sekrit@127.0.0.1:1/none")
    assert info.value.reason == "unreachable" and "cannot reach database" in str(info.value)
    assert "sekrit" not in str(info.value)


def test_a_failed_schema_upgrade_on_a_reached_database_is_not_unreachable(tmp_path) -> None:
    path = tmp_path / "odd.sqlite"
    with sqlite3.connect(path) as conn:  # a table in the way, as a half-done concurrent creation left it
        conn.execute("CREATE TABLE athletes (id INTEGER PRIMARY KEY)")
    with pytest.raises(StorageError) as info:
        Store.open(f"sqlite:///{path}")
    assert info.value.reason == "schema"
    assert "cannot reach" not in str(info.value) and "athletes already exists" in str(info.value)


def test_a_lock_held_past_the_busy_timeout_is_busy(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = Store.open(url, busy_timeout_s=0.2)
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process is writing and does not finish
        with pytest.raises(StorageError) as info:
            store.ensure_athlete("ann")
        assert info.value.reason == "busy" and "cannot reach" not in str(info.value)
        assert "database.busy_timeout_s" in str(info.value)
        other.execute("ROLLBACK")
        assert store.ensure_athlete("ann").name == "ann"  # waits, then works, once the lock is free
    finally:
        other.close()
        store.close()


def _fresh_file_locked_by_another_writer(path):
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE elsewhere (x)")  # a rollback-journal file, as a racing process's first write leaves it
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO elsewhere VALUES (1)")
    return other


@pytest.mark.slow
def test_opening_a_new_file_while_another_process_writes_waits_for_it(tmp_path) -> None:
    """CI failure (2026-12): on a fresh file several processes switch it to WAL at once; SQLite
    answered "database is locked" at once, without waiting, and the import exited 1."""
    import threading
    import time

    path = tmp_path / "db.sqlite"
    other = _fresh_file_locked_by_another_writer(path)
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    try:
        store = Store.open(f"sqlite:///{path}", busy_timeout_s=10)
    finally:
        waited_s = time.monotonic() - started
    try:
        assert store.ensure_athlete("ann").name == "ann"
        assert waited_s >= 0.25  # it waited for the writer rather than failing before it finished
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
        other.close()


def test_a_writer_that_never_finishes_while_opening_is_busy_not_unreachable(tmp_path) -> None:
    path = tmp_path / "db.sqlite"
    other = _fresh_file_locked_by_another_writer(path)
    try:
        with pytest.raises(StorageError) as info:
            Store.open(f"sqlite:///{path}", busy_timeout_s=0.3)
        assert info.value.reason == "busy" and "cannot reach" not in str(info.value)
    finally:
        other.close()


def test_the_busy_timeout_is_a_setting(tmp_path) -> None:
    from loadmon.errors import ConfigError
    from tests.conftest import make_config

    assert make_config(tmp_path).database.busy_timeout_s == 30.0
    assert make_config(tmp_path, database={"busy_timeout_s": 5}).database.busy_timeout_s == 5
    with pytest.raises(ConfigError, match="database.busy_timeout_s"):
        make_config(tmp_path, database={"busy_timeout_s": 0})
