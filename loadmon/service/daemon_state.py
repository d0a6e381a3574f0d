"""Daemon bookkeeping and the reads behind ``loadmon daemon status``.

The single-instance lock, the ``daemon`` row recorded per daemon (or scheduler) process, and
what the health report reads: the latest runs of each job, failed deliveries, Strava
connections and athlete names.
"""

from __future__ import annotations

from typing import Any

from loadmon.domain import JobRunOverview
from loadmon.logs import get_logger
from loadmon.service.context import Service
from loadmon.service.jobrunner import DAEMON_JOBS, JOB_DAEMON, error_text, json_safe, safe_text

log = get_logger("loadmon.jobs")


# ------------------------------------------------------------------- daemon bookkeeping
def acquire_daemon_lock(svc: Service) -> Any:
    """Take the single-instance lock of this database (a file lock next to a SQLite file, a
    PostgreSQL advisory lock otherwise). Returns an object with ``description``, ``check()``
    and ``release()``; raises DaemonLockedError naming the lock when another daemon holds it."""
    from loadmon.storage.locks import acquire_daemon_lock as _acquire

    return _acquire(svc.store)


def daemon_started(svc: Service, *, once: bool = False, counts: dict[str, Any] | None = None) -> int | None:
    """Record a daemon start (closing runs a killed daemon left open), with ``counts`` (who it
    is: :func:`loadmon.service.liveness.identity`). Returns the run id."""
    from loadmon.storage.jobruns import interrupt_running_job_runs

    now = svc.clock()
    try:
        interrupted = interrupt_running_job_runs(svc.store, finished_at=now, jobs=list(DAEMON_JOBS))
        if interrupted:
            log.warning("daemon.interrupted_runs", count=interrupted)
        return svc.store.start_job_run(JOB_DAEMON, athlete_id=None, started_at=now,
                                       counts=json_safe({**(counts or {}), **({"once": True} if once else {})}))
    except Exception as exc:
        log.error("job.record_failed", job=JOB_DAEMON, phase="start", error=error_text(exc, svc))
        return None


def daemon_stopped(svc: Service, run_id: int | None, *, counts: dict[str, Any] | None = None,
                   error: str | None = None) -> None:
    if run_id is None:
        return
    try:
        svc.store.finish_job_run(run_id, outcome="error" if error else "ok", finished_at=svc.clock(),
                                 counts=json_safe(counts), error=safe_text(error, svc) if error else None)
    except Exception as exc:
        log.error("job.record_failed", job=JOB_DAEMON, phase="finish", error=error_text(exc, svc))


# ------------------------------------------------------------------------- health reads
def job_overview(svc: Service) -> list[JobRunOverview]:
    """Per (job, athlete): the latest run, latest finished run and latest error (for health)."""
    from loadmon.storage.jobruns import job_run_overview

    return job_run_overview(svc.store)


def failed_deliveries(svc: Service) -> int:
    """How many alert deliveries gave up (``failed``): the health report warns about them."""
    return svc.store.delivery_counts().get("failed", 0)


def strava_connections(svc: Service) -> dict[int, bool]:
    """Athlete id -> needs_reauth for every athlete with a Strava connection."""
    out: dict[int, bool] = {}
    for a in svc.store.list_athletes():
        conn = svc.store.get_strava_connection(a.id)
        if conn is not None:
            out[a.id] = conn.needs_reauth
    return out


def athlete_names(svc: Service) -> dict[int, str]:
    return {a.id: a.name for a in svc.store.list_athletes()}


__all__ = ["acquire_daemon_lock", "athlete_names", "daemon_started", "daemon_stopped", "failed_deliveries",
           "job_overview", "strava_connections"]
