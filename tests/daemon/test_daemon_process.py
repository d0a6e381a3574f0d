"""`loadmon daemon` as a real subprocess on a temporary SQLite database and watched folder."""

from __future__ import annotations

import json

import pytest

from tests.daemon.helpers import DaemonProcess, cli_env, fit_file, run_cli, wait_until, write_config

pytestmark = pytest.mark.slow


def _activities(config, env) -> list[dict]:
    res = run_cli(config, "activities", "--json", env=env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_dropped_fit_file_is_imported_then_sigterm_exits_cleanly(tmp_path) -> None:
    watch = tmp_path / "watch"
    watch.mkdir()
    config = write_config(tmp_path, watch_dirs=[watch])
    env = cli_env(tmp_path)
    daemon = DaemonProcess(config, env, tmp_path / "daemon.log")
    try:
        started = daemon.wait_for_event("daemon.started")
        assert "import_watched" in started["jobs"]
        fit_file(watch / "sub" / "morning-run.fit", km=12.5)  # written now: imported once it settles

        acts = wait_until(lambda: _activities(config, env), timeout=30, interval=0.5, what="the dropped file's activity")
        assert len(acts) == 1
        assert acts[0]["source"] == "fit"
        assert acts[0]["distance_m"] == pytest.approx(12_500, rel=0.01)

        # The daemon is running and its jobs ran: healthy.
        status = run_cli(config, "daemon", "status", "--json", env=env)
        report = json.loads(status.stdout)
        assert status.returncode == 0, status.stdout + status.stderr
        assert report["healthy"] is True and report["daemon"]["running"] is True
        by_job = {j["job"]: j for j in report["jobs"]}
        assert by_job["import_watched"]["outcome"] in ("ok", "running")
        assert by_job["deliver"]["last_started_at"] is not None

        code, _elapsed = daemon.terminate(timeout=10)  # TimeoutExpired (a failure) after 10 s
        assert code == 0, daemon.log_text()
        events = [e["event"] for e in daemon.events()]
        assert "daemon.stopping" in events and events[-1] == "daemon.stopped"
        imported = [e for e in daemon.events() if e.get("event") == "job.ok" and e.get("job") == "import_watched"
                    and e["counts"].get("imported")]
        assert [e["counts"]["imported"] for e in imported] == [1]  # read once, never re-imported
    finally:
        daemon.stop()

    # After a clean stop the status says so, and the records show the clean end.
    report = json.loads(run_cli(config, "daemon", "status", "--json", env=env).stdout)
    assert report["daemon"]["running"] is False and report["daemon"]["stopped_at"] is not None


def test_second_daemon_on_the_same_database_refuses_to_start(tmp_path) -> None:
    config = write_config(tmp_path)
    env = cli_env(tmp_path)
    first = DaemonProcess(config, env, tmp_path / "first.log")
    try:
        first.wait_for_event("daemon.started")
        second = run_cli(config, "daemon", env=env, timeout=30)
        assert second.returncode == 3
        assert "another loadmon daemon is already running" in second.stderr
        assert "loadmon.sqlite.daemon.lock" in second.stderr  # names the lock
        assert str(first.proc.pid) in second.stderr  # and who holds it
        once = run_cli(config, "daemon", "--once", env=env, timeout=30)
        assert once.returncode == 3
        assert first.proc.poll() is None  # the first one is unaffected
        code, _ = first.terminate()
        assert code == 0
    finally:
        first.stop()
    # With the first one gone, the lock is free again.
    assert run_cli(config, "daemon", "--once", env=env).returncode == 0


def test_once_runs_every_job_once_and_exits_0(tmp_path) -> None:
    watch = tmp_path / "watch"
    fit_file(watch / "a.fit", km=8, old=True)
    config = write_config(tmp_path, watch_dirs=[watch])
    env = cli_env(tmp_path)
    res = run_cli(config, "daemon", "--once", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert any(line.startswith("import_watched: ok") and "imported=1" in line for line in lines), res.stdout
    assert any(line.startswith("evaluate") for line in lines), res.stdout  # the import touched an athlete
    assert any(line.startswith("deliver") for line in lines), res.stdout
    assert len(_activities(config, env)) == 1

    status = run_cli(config, "daemon", "status", "--json", env=env)
    report = json.loads(status.stdout)
    assert status.returncode == 0, status.stdout
    assert report["daemon"]["once"] is True
    jobs = {j["job"] for j in report["jobs"] if j["last_started_at"]}
    assert {"import_watched", "evaluate", "deliver"} <= jobs

    # A second pass finds nothing new: the file is a duplicate by content hash.
    again = run_cli(config, "daemon", "--once", env=env)
    assert again.returncode == 0
    assert "duplicate=1" in again.stdout and len(_activities(config, env)) == 1


def test_status_exits_1_when_the_daemon_never_ran_or_the_last_run_failed(tmp_path) -> None:
    env = cli_env(tmp_path)
    missing = tmp_path / "not-there"
    config = write_config(tmp_path, watch_dirs=[missing])

    never = run_cli(config, "daemon", "status", env=env)
    assert never.returncode == 1
    assert "never ran" in never.stdout + never.stderr

    once = run_cli(config, "daemon", "--once", env=env)
    assert once.returncode == 1  # the watched folder is missing: that run failed
    status = run_cli(config, "daemon", "status", env=env)
    assert status.returncode == 1
    assert f"watched folder {missing} does not exist" in status.stdout

    missing.mkdir()  # fixed: the next pass succeeds and the daemon is healthy again
    assert run_cli(config, "daemon", "--once", env=env).returncode == 0
    healthy = run_cli(config, "daemon", "status", "--json", env=env)
    assert healthy.returncode == 0, healthy.stdout
    report = json.loads(healthy.stdout)
    imp = next(j for j in report["jobs"] if j["job"] == "import_watched")
    assert imp["state"] == "ok" and f"{missing} does not exist" in imp["last_error"]  # the last error is kept


@pytest.mark.postgres
def test_on_postgresql_a_second_daemon_refuses_and_sigterm_exits_0(tmp_path, pg_database_url) -> None:
    config = write_config(tmp_path, database_url=pg_database_url)
    env = cli_env(tmp_path)
    first = DaemonProcess(config, env, tmp_path / "first.log")
    try:
        assert "PostgreSQL advisory lock" in first.wait_for_event("daemon.lock_acquired")["lock"]
        first.wait_for_event("daemon.started")
        second = run_cli(config, "daemon", env=env, timeout=30)
        assert second.returncode == 3
        assert "advisory lock" in second.stderr and "already running" in second.stderr
        code, _ = first.terminate()
        assert code == 0, first.log_text()
    finally:
        first.stop()
    status = run_cli(config, "daemon", "status", "--json", env=env)
    assert json.loads(status.stdout)["daemon"]["running"] is False
