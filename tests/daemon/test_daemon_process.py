"""`loadmon daemon` as a real subprocess on a temporary SQLite database and watched folder."""

from __future__ import annotations

import json
import signal
import time

import filelock
import pytest

from tests.daemon.helpers import DaemonProcess, clean_install_env, cli_env, fit_file, run_cli, wait_until, write_config

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
    assert report["daemon"]["once"] is True and report["daemon"]["running"] is False
    # Not running after a pass, by design (cron, `make demo`): said, but not a failure.
    text = run_cli(config, "daemon", "status", env=env)
    assert text.returncode == 0 and "daemon: not running; last pass (--once), started" in text.stdout, text.stdout
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


def test_daemon_on_a_clean_install_keeps_running_past_several_lock_checks(tmp_path) -> None:
    """A new user: no config file, an empty data directory, the embedded SQLite default. The lock
    is checked every second (the default is 30 s); the daemon must keep it past several checks."""
    env = clean_install_env(tmp_path)
    env["LOADMON_DAEMON__LOCK_CHECK_S"] = "1"
    daemon = DaemonProcess(None, env, tmp_path / "daemon.log")
    try:
        started = daemon.wait_for_event("daemon.started")
        assert "lock_check" in started["jobs"]
        assert (tmp_path / "data" / "loadmon.sqlite.daemon.lock").exists()  # the default database, created here
        t_end = time.monotonic() + 6  # six lock checks
        while time.monotonic() < t_end:
            assert daemon.proc.poll() is None, f"the daemon exited with {daemon.proc.returncode}:\n{daemon.log_text()}"
            time.sleep(0.2)
        events = [e["event"] for e in daemon.events()]
        assert "daemon.lock_lost" not in events and "daemon.stopping" not in events, daemon.log_text()

        status = run_cli(None, "daemon", "status", "--json", env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        report = json.loads(status.stdout)
        assert report["healthy"] is True and report["daemon"]["running"] is True
        code, _ = daemon.terminate()
        assert code == 0, daemon.log_text()
    finally:
        daemon.stop()


def _status(config, env) -> tuple[int, dict]:
    res = run_cli(config, "daemon", "status", "--json", env=env)
    return res.returncode, json.loads(res.stdout)


def test_status_is_unhealthy_at_once_when_the_daemon_stopped_or_was_killed(tmp_path) -> None:
    config = write_config(tmp_path)
    env = cli_env(tmp_path)
    daemon = DaemonProcess(config, env, tmp_path / "first.log")
    try:
        daemon.wait_for_event("daemon.started")
        assert _status(config, env)[0] == 0
        code, _ = daemon.terminate()
        assert code == 0
    finally:
        daemon.stop()
    # Stopped a moment ago: every job ran recently, but nothing runs any more.
    code, report = _status(config, env)
    assert code == 1 and report["daemon"]["running"] is False
    assert report["problems"][0].startswith("the daemon is not running: it stopped at ")
    text = run_cli(config, "daemon", "status", env=env)
    assert text.returncode == 1 and "daemon: not running (it stopped at" in text.stdout

    daemon = DaemonProcess(config, env, tmp_path / "second.log")
    try:
        daemon.wait_for_event("daemon.started")
        pid = daemon.proc.pid
        daemon.proc.send_signal(signal.SIGKILL)  # no clean-up: its records still say "running"
        daemon.proc.wait(timeout=10)
    finally:
        daemon.stop()
    lock_file = tmp_path / "loadmon.sqlite.daemon.lock"
    assert lock_file.exists() and (tmp_path / "loadmon.sqlite.daemon.lock.pid").read_text().strip() == str(pid)
    code, report = _status(config, env)
    assert code == 1 and report["daemon"]["running"] is False
    assert f"but its lock is free: process {pid} was killed or crashed" in report["problems"][0]

    # The lock file is held by some other process, but the recorded daemon process is gone.
    holder = filelock.FileLock(str(lock_file), timeout=0, thread_local=False)
    with holder:
        code, report = _status(config, env)
    assert code == 1 and f"process {pid}, running since" in report["problems"][0]


@pytest.mark.postgres
def test_on_postgresql_status_is_unhealthy_at_once_when_the_daemon_was_killed(tmp_path, pg_database_url) -> None:
    config = write_config(tmp_path, database_url=pg_database_url)
    env = cli_env(tmp_path)
    daemon = DaemonProcess(config, env, tmp_path / "daemon.log")
    try:
        daemon.wait_for_event("daemon.started")
        assert _status(config, env)[0] == 0
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
    finally:
        daemon.stop()
    # The server ends the session (and its advisory lock) once it sees the connection closed.
    code, report = wait_until(lambda: (lambda r: r if r[0] == 1 else None)(_status(config, env)), timeout=20,
                              what="daemon status to see the killed daemon")
    assert report["daemon"]["running"] is False
    assert f"but its lock is free: process {daemon.proc.pid} was killed or crashed" in report["problems"][0]
