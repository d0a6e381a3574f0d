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


def test_the_busy_timeout_is_a_setting(tmp_path) -> None:
    from loadmon.errors import ConfigError
    from tests.conftest import make_config

    assert make_config(tmp_path).database.busy_timeout_s == 30.0
    assert make_config(tmp_path, database={"busy_timeout_s": 5}).database.busy_timeout_s == 5
    with pytest.raises(ConfigError, match="database.busy_timeout_s"):
        make_config(tmp_path, database={"busy_timeout_s": 0})
