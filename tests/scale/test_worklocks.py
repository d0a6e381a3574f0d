"""Work locks (one worker per athlete at a time) on SQLite and PostgreSQL, and the guarded jobs."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from loadmon.storage.worklocks import held_work_locks, namespace_key, object_key, try_work_lock, work_lock
from tests.conftest import REPO_ROOT


def test_a_lock_is_exclusive_until_released(store) -> None:
    first = try_work_lock(store, "athlete", 7)
    assert first is not None
    assert try_work_lock(store, "athlete", 7) is None  # held (even by this very process)
    other = try_work_lock(store, "athlete", 8)
    assert other is not None  # another athlete is independent
    other_ns = try_work_lock(store, "import_watched", 7)
    assert other_ns is not None  # so is another namespace
    first.release()
    again = try_work_lock(store, "athlete", 7)
    assert again is not None
    for lock in (again, other, other_ns):
        lock.release()


def test_the_context_manager_yields_none_when_busy(store) -> None:
    with work_lock(store, "athlete", 1) as held:
        assert held is not None
        with work_lock(store, "athlete", 1) as busy:
            assert busy is None
    with work_lock(store, "athlete", 1) as free:
        assert free is not None


def test_keys_past_32_bits_are_folded_stably() -> None:
    big = 2**40 + 12345
    assert object_key(big) == object_key(big) and -(2**31) <= object_key(big) < 2**31
    assert object_key(42) == 42
    assert -(2**31) <= namespace_key("athlete") < 2**31 and namespace_key("athlete") != namespace_key("import_watched")


@pytest.mark.postgres
def test_postgres_lists_who_is_busy(pg_database_url) -> None:
    from loadmon.storage import Store

    store = Store.open(pg_database_url)
    try:
        with work_lock(store, "athlete", 5), work_lock(store, "athlete", 2**33):
            assert held_work_locks(store, "athlete") == sorted([5, object_key(2**33)])
        assert held_work_locks(store, "athlete") == []
    finally:
        store.close()


HOLDER = textwrap.dedent("""
    import sys, time
    from loadmon.storage import Store
    from loadmon.storage.worklocks import try_work_lock
    store = Store.open(sys.argv[1])
    lock = try_work_lock(store, "athlete", 99)
    print("locked" if lock else "busy", flush=True)
    time.sleep(60)
""")


@pytest.mark.slow
def test_a_killed_holder_frees_the_lock(store_url) -> None:
    """SIGKILL: no cleanup code runs, yet the lock is free (PostgreSQL ends the session, the
    kernel drops the flock)."""
    from loadmon.storage import Store

    proc = subprocess.Popen([sys.executable, "-c", HOLDER, store_url], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        store = Store.open(store_url)
        try:
            assert try_work_lock(store, "athlete", 99) is None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            import time

            deadline = time.monotonic() + 10
            lock = try_work_lock(store, "athlete", 99)
            while lock is None and time.monotonic() < deadline:  # the server notices the closed socket at once
                time.sleep(0.1)
                lock = try_work_lock(store, "athlete", 99)
            assert lock is not None
            lock.release()
        finally:
            store.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()


def test_guarded_jobs_do_nothing_while_another_worker_holds_the_athlete(open_service, store_url) -> None:
    from loadmon.service import distributed

    svc = open_service(store_url)
    athlete = svc.add_athlete("ann")
    runs_before = svc.store.last_job_runs()
    with work_lock(svc.store, distributed.ATHLETE_LOCK, athlete.id) as held:
        assert held is not None
        assert distributed.evaluate_athlete(svc, athlete.id) is None
        assert distributed.sync_athlete(svc, athlete.id) is None
        assert distributed.reconcile_athlete(svc, athlete.id) is None
    assert svc.store.last_job_runs() == runs_before  # nothing ran, nothing recorded
    result = distributed.evaluate_athlete(svc, athlete.id)
    assert result is not None and result.outcome == "ok" and result.athlete_id == athlete.id
    with work_lock(svc.store, distributed.IMPORT_LOCK, 0):
        assert distributed.import_watched(svc) is None
