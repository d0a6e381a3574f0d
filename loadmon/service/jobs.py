"""Background jobs: what the daemon (and the Celery workers) run. This module only gathers their
public names; each lives in the module named for what it holds:

- :mod:`loadmon.service.jobrunner`: recorded runs (:func:`run_job`, :class:`JobResult`, job
  names, the stop flag, error text without secrets);
- :mod:`loadmon.service.scheduled_jobs`: Strava sync and reconciliation, rule evaluation,
  outbox delivery, housekeeping;
- :mod:`loadmon.service.watch`: the watched-folder scan (FIT imports);
- :mod:`loadmon.service.schedule`: how often each runs (one table for the daemon and the
  worker scheduler) and :func:`run_once`;
- :mod:`loadmon.service.daemon_state`: the single-instance lock, the daemon's own runs and the
  reads behind ``loadmon daemon status``.
"""

from __future__ import annotations

from loadmon.service.context import WatchState
from loadmon.service.daemon_state import (
    acquire_daemon_lock,
    athlete_names,
    daemon_started,
    daemon_stopped,
    failed_deliveries,
    job_overview,
    strava_connections,
)
from loadmon.service.jobrunner import (
    DAEMON_JOBS,
    JOB_DAEMON,
    JOB_DELIVER,
    JOB_EVALUATE,
    JOB_FILL,
    JOB_HOUSEKEEPING,
    JOB_IMPORT,
    JOB_MORNING,
    JOB_RECONCILE,
    JOB_STRAVA_EVENTS,
    JOB_SYNC,
    JobResult,
    JobSkipped,
    error_text,
    run_job,
    safe_text,
    stop_event,
    stopping,
)
from loadmon.service.schedule import run_once
from loadmon.service.scheduled_jobs import (
    KEEP_JOB_RUNS_DAYS,
    deliver,
    evaluate,
    fill_all,
    housekeeping,
    reconcile_all,
    reconcile_athlete,
    sync_all,
    sync_athlete,
)
from loadmon.service.watch import SETTLE_S, WATCH_SUFFIXES, import_watched

__all__ = [
    "DAEMON_JOBS", "JOB_DAEMON", "JOB_DELIVER", "JOB_EVALUATE", "JOB_HOUSEKEEPING", "JOB_IMPORT", "JOB_MORNING", "JOB_RECONCILE",
    "JOB_STRAVA_EVENTS", "JOB_FILL", "JOB_SYNC", "KEEP_JOB_RUNS_DAYS", "SETTLE_S", "WATCH_SUFFIXES", "JobResult", "JobSkipped", "WatchState",
    "acquire_daemon_lock", "athlete_names", "daemon_started", "daemon_stopped", "deliver", "error_text", "evaluate",
    "failed_deliveries", "fill_all", "housekeeping", "import_watched", "job_overview", "reconcile_all", "reconcile_athlete",
    "run_job", "run_once", "safe_text", "stop_event", "stopping", "strava_connections", "sync_all", "sync_athlete",
]
