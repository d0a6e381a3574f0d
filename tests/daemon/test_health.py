"""Daemon health: failed, overdue, never ran, healthy; and `loadmon daemon status` exit codes."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from loadmon.daemon import assess
from loadmon.domain import JobRun, JobRunOverview
from loadmon.logs import configure_logging
from loadmon.service import Service, jobs
from tests.conftest import make_config

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


_ids = itertools.count(1)


def _run(job, started, outcome="ok", athlete_id=None, error=None, counts=None):
    return JobRun(id=next(_ids), job=job, athlete_id=athlete_id, started_at=started,
                  finished_at=None if outcome == "running" else started + timedelta(seconds=1),
                  outcome=outcome, counts=counts or {}, error=error)


def _entry(*runs):
    last = runs[-1]
    finished = [r for r in runs if r.outcome != "running"]
    errors = [r for r in runs if r.outcome == "error"]
    return JobRunOverview(job=last.job, athlete_id=last.athlete_id, last=last,
                          last_finished=finished[-1] if finished else None, last_error=errors[-1] if errors else None)


@pytest.fixture
def cfg(tmp_path):
    # deliver every 60 s, watch every 30 s, sync every 15 min, reconcile at 03:00 UTC, 60 min grace
    return make_config(tmp_path, fit={"watch_dirs": [str(tmp_path)]},
                       daemon={"sync_jitter_s": 0, "stale_after_minutes": 60, "watch_interval_s": 30})


def _healthy_overview(started=NOW - timedelta(minutes=1)):
    return [_entry(_run("daemon", NOW - timedelta(days=2), "running")),
            _entry(_run("deliver", started)), _entry(_run("import_watched", started)),
            _entry(_run("housekeeping", NOW - timedelta(hours=1))), _entry(_run("morning_messages", started)),
            _entry(_run("strava_fill", started))]


def test_never_ran_is_unhealthy(cfg) -> None:
    rep = assess([], cfg, now=NOW, strava={}, names={})
    assert not rep.healthy
    assert rep.problems[0].startswith("the daemon never ran")


def test_recent_successful_runs_are_healthy_and_next_run_comes_from_the_schedule(cfg) -> None:
    rep = assess(_healthy_overview(), cfg, now=NOW, strava={}, names={})
    assert rep.healthy, rep.problems
    deliver = next(j for j in rep.jobs if j.job == "deliver")
    assert deliver.state == "ok"
    assert deliver.next_expected_at == NOW - timedelta(minutes=1) + timedelta(seconds=60)


def test_a_job_is_overdue_only_after_interval_plus_grace(cfg) -> None:
    # deliver: interval 60 s + 60 min grace
    ok = _healthy_overview()
    ok[1] = _entry(_run("deliver", NOW - timedelta(minutes=60)))
    assert assess(ok, cfg, now=NOW, strava={}, names={}).healthy
    late = _healthy_overview()
    late[1] = _entry(_run("deliver", NOW - timedelta(minutes=62)))
    rep = assess(late, cfg, now=NOW, strava={}, names={})
    assert not rep.healthy
    assert [j.state for j in rep.jobs if j.job == "deliver"] == ["overdue"]
    assert "deliver is overdue" in rep.problems[0]


def test_a_failed_last_run_is_unhealthy_until_the_next_success(cfg) -> None:
    failed = _healthy_overview()
    failed[2] = _entry(_run("import_watched", NOW - timedelta(seconds=20), "error", error="watched folder /x does not exist"))
    rep = assess(failed, cfg, now=NOW, strava={}, names={})
    assert not rep.healthy and "watched folder /x does not exist" in rep.problems[0]
    recovered = _healthy_overview()
    recovered[2] = _entry(_run("import_watched", NOW - timedelta(seconds=50), "error", error="boom"),
                          _run("import_watched", NOW - timedelta(seconds=20)))
    rep = assess(recovered, cfg, now=NOW, strava={}, names={})
    assert rep.healthy
    imp = next(j for j in rep.jobs if j.job == "import_watched")
    assert imp.last_error == "boom" and imp.error is None


def test_connected_athletes_must_be_synced_and_reauth_is_a_warning(cfg) -> None:
    overview = _healthy_overview()
    overview[0] = _entry(_run("daemon", NOW - timedelta(hours=3), "running"))
    overview.append(_entry(_run("strava_sync", NOW - timedelta(minutes=10), athlete_id=1)))
    rep = assess(overview, cfg, now=NOW, strava={1: False, 2: False, 3: True}, names={1: "ann", 2: "bob", 3: "cy"})
    # bob is connected but was never synced although the daemon started 3 h ago
    assert [p for p in rep.problems if "bob" in p] and not [p for p in rep.problems if "ann" in p]
    assert rep.warnings and "cy must reconnect Strava" in rep.warnings[0]
    assert not [p for p in rep.problems if "cy" in p]


def test_the_nightly_reconciliation_is_due_once_a_day(cfg) -> None:
    yesterday_3am = datetime(2024, 6, 9, 3, 0, tzinfo=UTC)
    overview = _healthy_overview() + [_entry(_run("reconcile", yesterday_3am, athlete_id=1)),
                                      _entry(_run("strava_sync", NOW - timedelta(minutes=5), athlete_id=1))]
    rep = assess(overview, cfg, now=datetime(2024, 6, 10, 3, 30, tzinfo=UTC), strava={1: False}, names={1: "ann"})
    rec = next(j for j in rep.jobs if j.job == "reconcile")
    assert rec.next_expected_at == datetime(2024, 6, 10, 3, 0, tzinfo=UTC) and rec.state == "ok"
    rep = assess(overview, cfg, now=datetime(2024, 6, 10, 4, 30, tzinfo=UTC), strava={1: False}, names={1: "ann"})
    assert [j.state for j in rep.jobs if j.job == "reconcile"] == ["overdue"]


def test_status_command_exits_1_when_overdue_and_0_when_healthy(tmp_path, monkeypatch) -> None:
    """Real records: one pass of every job made 3 hours ago (a clock in the past), then a fresh one."""
    for name in [k for k in __import__("os").environ if k.startswith("LOADMON_")]:
        monkeypatch.delenv(name)
    watch = tmp_path / "watch"
    watch.mkdir()
    cfg = make_config(tmp_path, fit={"watch_dirs": [str(watch)]}, daemon={"stale_after_minutes": 60})
    config_path = tmp_path / "config.toml"
    monkeypatch.setenv("LOADMON_DATABASE_URL", cfg.database_url)
    from loadmon.cli import app

    runner = CliRunner()
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    svc = Service.open(cfg, clock=lambda: three_hours_ago)
    try:
        run_id = jobs.daemon_started(svc)
        jobs.run_once(svc)
        jobs.housekeeping(svc)
    finally:
        svc.close()
    res = runner.invoke(app, ["--config", str(config_path), "daemon", "status", "--json"])
    configure_logging()  # the CLI pointed the logs at the runner's stream, closed now
    assert res.exit_code == 1, res.output
    report = json.loads(res.stdout)
    overdue = {j["job"] for j in report["jobs"] if j["state"] == "overdue"}
    assert {"import_watched", "deliver"} <= overdue
    assert any("import_watched is overdue" in p for p in report["problems"])

    svc = Service.open(cfg)  # the daemon runs again now
    try:
        jobs.daemon_stopped(svc, run_id)
        jobs.daemon_started(svc)
        jobs.run_once(svc)
        jobs.housekeeping(svc)
    finally:
        svc.close()
    res = runner.invoke(app, ["--config", str(config_path), "daemon", "status"])
    configure_logging()
    assert res.exit_code == 0, res.output
    assert "healthy" in res.stdout and "import_watched" in res.stdout


def test_failed_deliveries_are_a_warning_that_names_the_way_out(cfg) -> None:
    assert assess(_healthy_overview(), cfg, now=NOW, strava={}, names={}, failed_deliveries=0).warnings == []
    rep = assess(_healthy_overview(), cfg, now=NOW, strava={}, names={}, failed_deliveries=3)
    assert rep.healthy  # the daemon runs; a channel is broken
    (warning,) = rep.warnings
    assert warning.startswith("3 alert deliveries failed for good") and "alerts deliver --retry-failed" in warning


def _daemon_record(outcome="running", **counts):
    return _entry(_run("daemon", NOW - timedelta(hours=2), outcome, counts={"kind": "daemon", "pid": 4242, "host": "h", **counts}))


ALIVE = {"lock_held": True, "pid": 4242, "pid_alive": True}


def test_a_long_running_daemon_that_is_not_running_is_unhealthy_at_once(cfg) -> None:
    def judge(record, liveness):
        return assess([record, *_healthy_overview()[1:]], cfg, now=NOW, strava={}, names={}, liveness=liveness)

    assert judge(_daemon_record(), ALIVE).healthy  # running, lock held, process there
    # Killed (SIGKILL, OOM): the record still says running, but nobody holds the lock.
    killed = judge(_daemon_record(), {**ALIVE, "lock_held": False, "pid_alive": False})
    assert not killed.healthy and killed.daemon["running"] is False
    assert killed.problems[0].startswith("the daemon is not running: its record says running since 2024-06-10 10:00:00 UTC "
                                         "but its lock is free: process 4242 was killed or crashed")
    # The lock file is still held (by something else) but the recorded process is gone.
    gone = judge(_daemon_record(), {**ALIVE, "pid_alive": False})
    assert not gone.healthy and "process 4242, running since 2024-06-10 10:00:00 UTC, is gone" in gone.problems[0]
    # Stopped cleanly (SIGTERM) one second after it started: every job is recent, yet it does not run.
    stopped = judge(_daemon_record("ok", exit_status=0), {**ALIVE, "lock_held": False})
    assert not stopped.healthy and stopped.problems[0].startswith(
        "the daemon is not running: it stopped at 2024-06-10 10:00:01 UTC (start it again")
    lost = judge(_daemon_record("ok", exit_status=1), {**ALIVE, "lock_held": False})
    assert "it stopped at 2024-06-10 10:00:01 UTC with exit status 1" in lost.problems[0]
    # What cannot be known (another host, no flock) is not held against it.
    assert judge(_daemon_record(), {"lock_held": None, "pid": 4242, "pid_alive": None}).healthy


def test_once_passes_and_the_worker_scheduler_are_judged_by_their_runs_only(cfg) -> None:
    free = {"lock_held": False, "pid": None, "pid_alive": None}
    once = _run("daemon", NOW - timedelta(minutes=1), "ok", counts={"once": True, "runs": 4})
    rep = assess([_entry(once), *_healthy_overview()[1:]], cfg, now=NOW, strava={}, names={}, liveness=free)
    assert rep.healthy, rep.problems  # cron runs `daemon --once`: not running in between is normal
    scheduler = _entry(_run("daemon", NOW - timedelta(hours=2), "running"))  # `loadmon scheduler` records no kind
    assert assess([scheduler, *_healthy_overview()[1:]], cfg, now=NOW, strava={}, names={}, liveness=free).healthy


def test_status_never_creates_the_database_it_reads(tmp_path, monkeypatch) -> None:
    """`daemon status` on a SQLite path where no database exists (a fresh host, a typo in the URL)
    is unhealthy (exit 1) and leaves no file or folder behind: a health check only reads."""
    for name in [k for k in __import__("os").environ if k.startswith("LOADMON_")]:
        monkeypatch.delenv(name)
    missing = tmp_path / "not-yet" / "loadmon.sqlite"
    monkeypatch.setenv("LOADMON_DATABASE_URL", f"sqlite:///{missing}")
    config_path = tmp_path / "config.toml"
    config_path.write_text("", encoding="utf-8")
    from loadmon.cli import app

    res = CliRunner().invoke(app, ["--config", str(config_path), "daemon", "status", "--json"])
    configure_logging()
    assert res.exit_code == 1, res.output
    report = json.loads(res.stdout)
    assert report["healthy"] is False and report["daemon"] == {"ever_ran": False}
    assert f"no database at {missing} yet" in report["problems"][0]
    assert not missing.exists() and not missing.parent.exists()
