"""The APScheduler configuration: which jobs, how often, and what happens after a long sleep."""

from __future__ import annotations

import threading
import time
from datetime import UTC, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from loadmon.daemon import Daemon
from loadmon.errors import ConfigError
from loadmon.service import Service
from tests.conftest import make_config


@pytest.fixture
def svc(tmp_path):
    cfg = make_config(tmp_path, fit={"watch_dirs": [str(tmp_path)]},
                      daemon={"sync_interval_minutes": 20, "sync_jitter_s": 45, "watch_interval_s": 10,
                              "deliver_interval_s": 30, "reconcile_hour_utc": 4, "misfire_grace_s": 900})
    service = Service.open(cfg)
    yield service
    service.close()


def test_every_job_coalesces_runs_one_instance_and_has_the_misfire_grace(svc) -> None:
    sched = Daemon(svc).build_scheduler()
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"strava_sync", "import_watched", "deliver", "reconcile", "housekeeping", "morning_messages",
                         "strava_fill", "lock_check"}
    for job in jobs.values():
        assert job.coalesce is True, job.id
        assert job.max_instances == 1, job.id
        assert job.misfire_grace_time == 900, job.id
    sync = jobs["strava_sync"].trigger
    assert isinstance(sync, IntervalTrigger) and sync.interval == timedelta(minutes=20) and sync.jitter == 45
    assert jobs["import_watched"].trigger.interval == timedelta(seconds=10)
    assert jobs["deliver"].trigger.interval == timedelta(seconds=30)
    assert jobs["morning_messages"].trigger.interval == timedelta(minutes=10)
    rec = jobs["reconcile"].trigger
    assert isinstance(rec, CronTrigger) and str(rec.fields[rec.FIELD_NAMES.index("hour")]) == "4"
    assert rec.timezone == UTC


def test_no_watch_job_without_watched_folders(open_service) -> None:
    svc = open_service()
    ids = {j.id for j in Daemon(svc).build_scheduler().get_jobs()}
    assert "import_watched" not in ids and {"strava_sync", "deliver"} <= ids


@pytest.mark.slow
def test_a_laptop_that_slept_all_night_runs_one_sync_not_forty(tmp_path) -> None:
    """The sync was due every 20 min for 8 hours while the machine slept: on waking it runs once
    (with a misfire grace of a day, every missed run would still be eligible without coalescing)."""
    svc = Service.open(make_config(tmp_path, daemon={"sync_interval_minutes": 20, "misfire_grace_s": 86400}))
    daemon = Daemon(svc)
    sched = daemon.build_scheduler()
    calls: list[float] = []
    ran = threading.Event()

    def sync() -> None:
        calls.append(time.monotonic())
        ran.set()

    for job in sched.get_jobs():
        if job.id != "strava_sync":
            job.remove()
    now = daemon.now()
    sched.modify_job("strava_sync", func=sync, next_run_time=now - timedelta(hours=8))
    sched.start()
    try:
        assert ran.wait(10)
        time.sleep(1.0)  # room for any further (wrong) catch-up runs to happen
        next_run = sched.get_job("strava_sync").next_run_time
    finally:
        sched.shutdown(wait=True)
        svc.close()
    assert len(calls) == 1
    assert next_run > now  # and it is scheduled in the future, not for the missed slots


def test_bad_daemon_settings_are_refused_naming_the_key(open_service) -> None:
    svc = open_service(daemon={"reconcile_hour_utc": 24})
    with pytest.raises(ConfigError, match="daemon.reconcile_hour_utc"):
        Daemon(svc)
    svc = open_service(daemon={"watch_interval_s": 0})
    with pytest.raises(ConfigError, match="daemon.watch_interval_s"):
        Daemon(svc)
