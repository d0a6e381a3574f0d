"""Watched folders and database faults: a file whose import failed because of the database (the
connection killed, the database read-only) is retried at the next scan, never lost; one that keeps
failing fails the watch job, so `daemon status` names it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event

from loadmon.daemon import report
from loadmon.service import Service, jobs
from tests.conftest import _truncate, make_config
from tests.daemon.helpers import fit_file, recent_start


def _service(tmp_path, watch, url=None) -> Service:
    return Service.open(make_config(tmp_path, database_url=url, fit={"watch_dirs": [str(watch)]}))


def _drop_files(watch, n: int) -> list:
    return [fit_file(watch / f"run-{i}.fit", start=recent_start(days_ago=i + 1), km=5 + i, old=True) for i in range(n)]


def _imported_once(svc: Service, n: int) -> None:
    acts = svc.store.list_activities(svc.athlete().id)
    assert sorted(round(a.distance_m) for a in acts) == [(5 + i) * 1000 for i in range(n)]  # each file once


@pytest.mark.slow
def test_sqlite_read_only_for_one_scan_loses_no_file(tmp_path) -> None:
    watch = tmp_path / "watch"
    _drop_files(watch, 3)
    svc = _service(tmp_path, watch)
    try:
        svc.athlete()  # the default athlete exists; then the database turns read-only for one scan
        read_only = [True]

        @event.listens_for(svc.store.engine, "connect")
        def _query_only(dbapi_conn, _record) -> None:
            if read_only[0]:
                dbapi_conn.execute("PRAGMA query_only = ON")  # SQLite: "attempt to write a readonly database"

        svc.store.engine.dispose()
        first = jobs.import_watched(svc)
        # every SQLite transaction begins IMMEDIATE (a write lock), so a read-only database fails the
        # scan before any file (the default athlete's look-up): the job fails, no file is marked done
        assert first.outcome == "error" and first.counts.get("imported", 0) == 0
        assert "readonly database" in (first.error or "")

        read_only[0] = False
        svc.store.engine.dispose()
        second = jobs.import_watched(svc)
        assert second.outcome == "ok", second.error
        assert (second.counts["imported"], second.counts["retry"]) == (3, 0)
        assert jobs.import_watched(svc).counts["unchanged"] == 3  # done now: not read again
        _imported_once(svc, 3)
    finally:
        svc.close()


class _ConnectionKiller:
    """Terminates the PostgreSQL session (``pg_terminate_backend``) of the service's own connection
    just before its n-th ``INSERT INTO activities`` from now."""

    def __init__(self, engine, admin_url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.admin = psycopg.connect(conninfo, autocommit=True)
        self.left: int | None = None
        self.killed = 0
        event.listen(engine, "before_cursor_execute", self._before)

    def arm(self, nth: int | None) -> None:
        self.left = nth

    def _before(self, conn, _cursor, statement, *_args) -> None:
        if self.left is None or not statement.lstrip().upper().startswith("INSERT INTO ACTIVITIES"):
            return
        self.left -= 1
        if self.left == 0:
            self.left = None
            pid = conn.connection.dbapi_connection.info.backend_pid
            # wait (up to 5 s) until the backend is gone, so the INSERT meets a dead session
            assert self.admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]
            self.killed += 1


@pytest.fixture
def pg_svc(tmp_path, pg_database_url, _pg_store_session) -> Iterator[tuple[Service, _ConnectionKiller]]:
    _truncate(_pg_store_session)
    watch = tmp_path / "watch"
    watch.mkdir()
    svc = _service(tmp_path, watch, pg_database_url)
    killer = _ConnectionKiller(svc.store.engine, pg_database_url)
    try:
        yield svc, killer
    finally:
        killer.admin.close()
        svc.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_connection_killed_mid_scan_loses_no_file(tmp_path, pg_svc) -> None:
    svc, killer = pg_svc
    files = _drop_files(tmp_path / "watch", 6)
    killer.arm(3)  # the third file's insert meets a terminated session
    first = jobs.import_watched(svc)
    assert killer.killed == 1
    assert first.outcome == "error"  # not "ok": a file is still waiting
    assert (first.counts["imported"], first.counts["retry"]) == (5, 1)
    assert f"{files[2]}: not imported (1 scan(s) in a row), retried at the next scan: database error" in first.error

    second = jobs.import_watched(svc)
    assert second.outcome == "ok", second.error
    assert (second.counts["imported"], second.counts["unchanged"]) == (1, 5)
    _imported_once(svc, 6)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_watched_file_that_keeps_failing_shows_in_daemon_status(tmp_path, pg_svc) -> None:
    svc, killer = pg_svc
    files = _drop_files(tmp_path / "watch", 2)
    for _scan in range(2):
        killer.arm(1)  # the first insert of each scan: the same file, twice
        jobs.import_watched(svc)
    assert killer.killed == 2
    watch_job = next(j for j in report(svc).jobs if j.job == "import_watched")
    assert watch_job.state == "failed"
    assert f"{files[0]}: not imported (2 scan(s) in a row), retried at the next scan" in watch_job.problem

    assert jobs.import_watched(svc).outcome == "ok"  # the database is fine again
    assert next(j for j in report(svc).jobs if j.job == "import_watched").state == "ok"
    _imported_once(svc, 2)


def test_a_fifo_and_a_symlink_to_dev_zero_in_a_watched_folder_never_hang_the_watch_job(tmp_path) -> None:
    """The daemon's watch job reads only regular files: a FIFO named ``x.fit`` (a read would block for
    ever) and ``zero.fit -> /dev/zero`` (a read never ends) are refused per file, the good files are
    imported, and the job finishes (issue 11.3 at the daemon's level)."""
    import os
    import threading

    watch = tmp_path / "watch"
    _drop_files(watch, 2)
    os.mkfifo(watch / "x.fit")
    (watch / "zero.fit").symlink_to("/dev/zero")
    old = os.stat(watch / "run-0.fit").st_mtime
    os.utime(watch / "zero.fit", (old, old), follow_symlinks=False)
    os.utime(watch / "x.fit", (old, old))  # settled, as a file left there an hour ago
    svc = _service(tmp_path, watch)
    try:
        outcome: list = []
        worker = threading.Thread(target=lambda: outcome.append(jobs.import_watched(svc)), daemon=True)
        worker.start()
        worker.join(timeout=120)
        if worker.is_alive():  # unblock the FIFO's reader so the thread ends, then fail
            with open(watch / "x.fit", "wb"):
                pass
            pytest.fail("the watch job hung on a special file")
        (result,) = outcome
        assert (result.outcome, result.counts["imported"], result.counts["failed"]) == ("ok", 2, 2), result
        _imported_once(svc, 2)
    finally:
        svc.close()
