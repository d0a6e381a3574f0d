"""The daemon: one APScheduler 3.x BackgroundScheduler (in-memory job store), one job per row of
the schedule table :func:`loadmon.service.schedule.job_specs` (which the worker scheduler reads too).

- Strava incremental sync of every connected athlete every ``daemon.sync_interval_minutes``
  (with ``sync_jitter_s`` jitter), watched folders every ``watch_interval_s``, the outbox
  every ``deliver_interval_s``, the nightly reconciliation at ``reconcile_hour_utc``, and a
  housekeeping prune every 6 h. The first sync, scan, delivery and prune run at start. Beside
  them, the daemon's own check of its single-instance lock every ``lock_check_s``.
- ``coalesce=True``, ``max_instances=1`` and ``misfire_grace_time=daemon.misfire_grace_s``:
  a laptop that slept all night runs one sync when it wakes, not forty.
- A single-instance lock per database (:func:`loadmon.service.jobs.acquire_daemon_lock`).
- SIGTERM / SIGINT set the stop flag (``svc.stop``): running jobs finish their
  current unit of work (a file, an athlete, a Strava page) and the process exits 0 well
  within 10 s (after ``stop_timeout_s`` it stops waiting and says so).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from loadmon.errors import DaemonLockedError, LoadmonError
from loadmon.logs import get_logger
from loadmon.service import Service, jobs, liveness, schedule, wakeups

log = get_logger("loadmon.daemon")

STOP_TIMEOUT_S = 8.0  # SIGTERM -> exit within 10 s even if a job ignores the stop flag
WORKERS = 2  # a long Strava sync never holds up the watched folders and the outbox


def _trigger(spec: schedule.JobSpec) -> IntervalTrigger | CronTrigger:
    jitter = spec.jitter_s or None
    if spec.interval_s is not None:
        return IntervalTrigger(seconds=spec.interval_s, jitter=jitter, timezone=UTC)
    return CronTrigger(hour=spec.daily_hour_utc, minute=0, jitter=jitter, timezone=UTC)


class Daemon:
    """Run with :meth:`run` (blocks until SIGTERM/SIGINT or :meth:`request_stop`) or :meth:`run_once`."""

    def __init__(self, svc: Service, *, stop_timeout_s: float = STOP_TIMEOUT_S,
                 now: Callable[[], datetime] | None = None) -> None:
        schedule.validate(svc.config)
        self.svc = svc
        self.stop = svc.stop
        self.stop_timeout_s = stop_timeout_s
        self.now = now or (lambda: datetime.now(UTC))
        self.exit_code = 0
        self.forced = False  # True when running jobs did not finish within stop_timeout_s
        self.scheduler: BackgroundScheduler | None = None
        self._lock: Any = None
        self._runs = 0
        self._runs_lock = threading.Lock()

    # -- scheduler -----------------------------------------------------------------------
    def build_scheduler(self) -> BackgroundScheduler:
        """The scheduler with every job added (not started)."""
        d = self.svc.config.daemon
        sched = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=WORKERS)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": d.misfire_grace_s},
            timezone=UTC,
        )
        now = self.now()
        opts = {"coalesce": True, "max_instances": 1, "misfire_grace_time": d.misfire_grace_s}
        for spec in schedule.job_specs(self.svc.config):
            first = {} if spec.start_delay_s is None else {"next_run_time": now + timedelta(seconds=spec.start_delay_s)}
            sched.add_job(self._runner(spec), _trigger(spec), id=spec.name, name=spec.description, **opts, **first)
        sched.add_job(self._check_lock, IntervalTrigger(seconds=d.lock_check_s, timezone=UTC),
                      id="lock_check", name="single-instance lock check", **opts)
        sched.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        return sched

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("daemon.run_missed", job=event.job_id, scheduled=str(getattr(event, "scheduled_run_time", "")))
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.info("daemon.still_running", job=event.job_id)
        else:  # the job wrappers never raise; this is a last resort
            log.error("daemon.job_crashed", job=event.job_id, error=jobs.safe_text(repr(getattr(event, "exception", "")), self.svc))

    def _count(self, results: list[jobs.JobResult]) -> None:
        with self._runs_lock:
            self._runs += len(results)

    def _wake(self, job: str) -> None:
        """Run ``job`` now (the web app served beside the jobs wakes the Strava events job)."""
        sched = self.scheduler
        if sched is None or self.stop.is_set() or sched.get_job(job) is None:
            return
        sched.modify_job(job, next_run_time=self.now())

    def _wake_delivery(self) -> None:
        sched = self.scheduler
        if sched is None or self.stop.is_set():
            return
        try:
            sched.modify_job(jobs.JOB_DELIVER, next_run_time=self.now())
        except Exception:
            pass

    # -- the job wrapper (the service function records its run and never raises) ----------
    def _runner(self, spec: schedule.JobSpec) -> Callable[[], None]:
        def run() -> None:
            if self.stop.is_set():
                return
            out = spec.run(self.svc)
            results = out if isinstance(out, list) else [out]
            self._count(results)
            if spec.wakes_delivery is not None and any(spec.wakes_delivery(r) for r in results):
                self._wake_delivery()  # the rules ran: send what they found now
        return run

    def _check_lock(self) -> None:
        lock = self._lock
        if lock is None or self.stop.is_set() or lock.check():
            return
        log.warning("daemon.lock_lost", lock=lock.description)
        try:
            lock.release()  # what is left of it (a deleted lock file's descriptor, a dead session)
        except Exception:
            pass
        try:
            self._lock = jobs.acquire_daemon_lock(self.svc)
            log.info("daemon.lock_reacquired", lock=self._lock.description)
        except DaemonLockedError as exc:
            log.error("daemon.lock_taken", error=str(exc))
            self.request_stop("lock taken by another daemon", exit_code=1)
        except LoadmonError as exc:  # database unreachable: try again at the next check
            log.error("daemon.lock_check_failed", error=jobs.safe_text(str(exc), self.svc))

    # -- lifecycle ------------------------------------------------------------------------
    def request_stop(self, reason: str, *, exit_code: int = 0) -> None:
        if not self.stop.is_set():
            log.info("daemon.stopping", reason=reason)
        if exit_code:
            self.exit_code = exit_code
        self.stop.set()

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, _frame: Any) -> None:
            self.request_stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _acquire(self) -> None:
        self._lock = jobs.acquire_daemon_lock(self.svc)  # DaemonLockedError propagates: refuse to start
        log.info("daemon.lock_acquired", lock=self._lock.description, pid=os.getpid())

    def _release(self) -> None:
        if self._lock is not None:
            try:
                self._lock.release()
            except Exception:
                pass
            self._lock = None

    def run(self, *, ready: Callable[[], None] | None = None) -> int:
        """Run until stopped; returns the exit code (0 after SIGTERM/SIGINT).

        Raises DaemonLockedError (before starting anything) when another daemon runs on the
        same database.
        """
        self._install_signal_handlers()
        self._acquire()
        me = liveness.identity(liveness.KIND_DAEMON)  # `daemon status` checks this process is still there
        run_id = jobs.daemon_started(self.svc, counts=me)
        error = None
        try:
            self.scheduler = self.build_scheduler()
            logging.getLogger("apscheduler").setLevel(logging.ERROR)  # misses are logged as JSON by _on_event
            self.scheduler.start()
            wakeups.register(self._wake)
            cfg = self.svc.config
            log.info("daemon.started", pid=os.getpid(), jobs=[j.id for j in self.scheduler.get_jobs()],
                     watch_dirs=list(cfg.fit.watch_dirs), sync_interval_minutes=cfg.daemon.sync_interval_minutes,
                     watch_interval_s=cfg.daemon.watch_interval_s, deliver_interval_s=cfg.daemon.deliver_interval_s)
            if ready:
                ready()
            while not self.stop.wait(0.5):
                pass
            self._shutdown_scheduler()
        except BaseException as exc:
            error = jobs.error_text(exc, self.svc)
            self.stop.set()
            if self.scheduler is not None and self.scheduler.running:
                self._shutdown_scheduler()
            raise
        finally:
            wakeups.unregister(self._wake)
            jobs.daemon_stopped(self.svc, run_id, counts={**me, "runs": self._runs, "forced": self.forced,
                                                          "exit_status": self.exit_code}, error=error)
            self._release()
            log.info("daemon.stopped", exit_status=self.exit_code, runs=self._runs, forced=self.forced)
        return self.exit_code

    def _shutdown_scheduler(self) -> None:
        """Wait for running jobs (they see the stop flag), at most ``stop_timeout_s``."""
        sched = self.scheduler
        assert sched is not None
        done = threading.Event()

        def shutdown() -> None:
            try:
                sched.shutdown(wait=True)
            finally:
                done.set()

        threading.Thread(target=shutdown, name="scheduler-shutdown", daemon=True).start()
        if not done.wait(self.stop_timeout_s):
            self.forced = True
            log.warning("daemon.stop_timeout", waited_s=self.stop_timeout_s,
                        running=[j.id for j in sched.get_jobs()] if sched.running else [])

    def run_once(self) -> list[jobs.JobResult]:
        """One pass of every job (import, sync, evaluation, delivery) under the lock."""
        self._acquire()
        run_id = jobs.daemon_started(self.svc, once=True)
        results: list[jobs.JobResult] = []
        error = None
        try:
            results = jobs.run_once(self.svc)
            self._runs = len(results) + sum(len(r.then) for r in results)
            return results
        except BaseException as exc:
            error = jobs.error_text(exc, self.svc)
            raise
        finally:
            jobs.daemon_stopped(self.svc, run_id, counts={"runs": self._runs, "once": True}, error=error)
            self._release()
