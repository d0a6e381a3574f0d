"""One job schedule: the daemon (APScheduler) and the worker scheduler (Celery beat) are both
built from :func:`loadmon.service.schedule.job_specs`, so they run the same jobs, as often."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from loadmon.daemon import Daemon
from loadmon.service import Service, schedule
from loadmon.worker.run import beat_schedule, initial_tasks
from loadmon.worker.tasks import JOB_TASKS, TASK_NAMES
from tests.conftest import make_config


def _daemon_view(cfg) -> tuple[dict[str, tuple[str, float]], list[str]]:
    """(job -> ("every", seconds) | ("daily", hour)), and the jobs run at start, in start order."""
    svc = Service.open(cfg)
    try:
        sched = Daemon(svc).build_scheduler()
    finally:
        svc.close()
    jobs = [j for j in sched.get_jobs() if j.id != "lock_check"]  # the daemon's own lock check: not a job
    view = {}
    for job in jobs:
        t = job.trigger
        view[job.id] = (("every", t.interval.total_seconds()) if isinstance(t, IntervalTrigger)
                        else ("daily", int(str(t.fields[t.FIELD_NAMES.index("hour")]))))
    at_start = sorted((j for j in jobs if getattr(j, "next_run_time", None) is not None), key=lambda j: j.next_run_time)
    return view, [j.id for j in at_start]


def _worker_view(cfg) -> tuple[dict[str, tuple[str, float]], list[str]]:
    view = {}
    for name, entry in beat_schedule(cfg).items():
        assert entry["task"] == JOB_TASKS[name] and entry["task"] in TASK_NAMES
        when = entry["schedule"]
        view[name] = ("every", when.total_seconds()) if isinstance(when, timedelta) else ("daily", *when.hour)
    by_task = {task: job for job, task in JOB_TASKS.items()}
    return view, [by_task[t] for t in initial_tasks(cfg)]


def _table_view(cfg) -> dict[str, tuple[str, float]]:
    return {s.name: ("every", float(s.interval_s)) if s.interval_s is not None else ("daily", s.daily_hour_utc)
            for s in schedule.job_specs(cfg)}


@pytest.mark.parametrize("watched", [False, True])
def test_the_daemon_and_the_worker_scheduler_run_the_same_jobs_as_often(tmp_path, watched) -> None:
    cfg = make_config(tmp_path, fit={"watch_dirs": [str(tmp_path)] if watched else []},
                      daemon={"sync_interval_minutes": 25, "sync_jitter_s": 30, "watch_interval_s": 12,
                              "deliver_interval_s": 40, "reconcile_hour_utc": 5})
    daemon, daemon_start = _daemon_view(cfg)
    worker, worker_start = _worker_view(cfg)
    assert daemon == worker == _table_view(cfg)
    assert daemon["strava_sync"] == ("every", 1500) and daemon["reconcile"] == ("daily", 5)
    assert ("import_watched" in daemon) is watched
    assert daemon_start == worker_start  # the jobs run at start, in the same order
    assert worker_start[0] == "strava_sync" and "reconcile" not in worker_start


def test_a_change_to_the_table_reaches_both_schedulers(tmp_path, monkeypatch) -> None:
    """Neither scheduler keeps a list of its own: edit the table, both follow."""
    real = schedule.job_specs

    def edited(cfg):
        return [dataclasses.replace(s, interval_s=123) if s.name == "housekeeping" else s
                for s in real(cfg) if s.name != "deliver"]

    monkeypatch.setattr(schedule, "job_specs", edited)
    cfg = make_config(tmp_path)
    daemon, daemon_start = _daemon_view(cfg)
    worker, worker_start = _worker_view(cfg)
    assert daemon == worker
    assert daemon["housekeeping"] == ("every", 123) and "deliver" not in daemon
    assert "deliver" not in daemon_start and daemon_start == worker_start
