"""Starting a worker (`loadmon worker`) and the periodic scheduler (`loadmon scheduler`).

The scheduler is Celery beat with an in-memory schedule built from the table the
single-process daemon reads (:func:`loadmon.service.schedule.job_specs`: the same jobs and
intervals; beat adds no jitter): it only *enqueues*; workers do the work. Like the
daemon it takes the database's single-instance lock (a PostgreSQL advisory lock), so two
schedulers - or a scheduler and a daemon - never run against one database, and it records its
runs as the daemon's, so ``loadmon daemon status`` checks a worker deployment too.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from celery.schedules import crontab
from celery.signals import worker_ready
from kombu.exceptions import OperationalError as KombuOperationalError

from loadmon.config import Config
from loadmon.errors import BrokerUnavailableError
from loadmon.logs import get_logger
from loadmon.service import Service, jobs, schedule
from loadmon.worker import tasks
from loadmon.worker.app import make_app

log = get_logger("loadmon.worker")

POOLS = {"prefork": "prefork", "threads": "threads", "solo": "solo"}
MIN_EXPIRES_S = 30
DAILY_EXPIRES_S = 6 * 3600


def beat_schedule(config: Config) -> dict[str, dict[str, Any]]:
    """What the scheduler enqueues, and when: one entry per job of the schedule table, running
    the task registered for it (each message expires after its own interval, at least
    ``MIN_EXPIRES_S``; a daily one after ``DAILY_EXPIRES_S``: a queue nobody consumes does not
    fill up with stale copies)."""
    out: dict[str, dict[str, Any]] = {}
    for spec in schedule.job_specs(config):
        if spec.interval_s is not None:
            when: Any = timedelta(seconds=spec.interval_s)
            expires = max(spec.interval_s, MIN_EXPIRES_S)
        else:
            when, expires = crontab(minute=0, hour=spec.daily_hour_utc), DAILY_EXPIRES_S
        out[spec.name] = {"task": tasks.JOB_TASKS[spec.name], "schedule": when, "options": {"expires": expires}}
    return out


def initial_tasks(config: Config) -> list[str]:
    """Enqueued once when the scheduler starts (the jobs the daemon runs at start)."""
    return [tasks.JOB_TASKS[spec.name] for spec in schedule.job_specs(config) if spec.start_delay_s is not None]


def run_worker(config: Config, *, concurrency: int | None = None, pool: str | None = None,
               hostname: str | None = None, loglevel: str = "WARNING",
               ready: Callable[[], None] | None = None) -> int:
    """Run a Celery worker in the foreground until SIGTERM (warm shutdown: running tasks end,
    then exit 0) or SIGQUIT. The database schema must be current (`loadmon db upgrade`, or
    any loadmon command that opens the database first). Returns the exit code."""
    w = config.worker
    # PostgreSQL: check the schema, never upgrade it (workers on several hosts would race; run
    # `loadmon db upgrade` once). SQLite (one host): create / upgrade it here, not in every child.
    postgres = config.database_url.startswith("postgresql")
    svc = Service.open(config, migrate=not postgres)
    svc.close()
    app = make_app(config)
    name = hostname or f"loadmon-{os.getpid()}@{socket.gethostname()}"

    @worker_ready.connect(weak=False)
    def _ready(**_kw: Any) -> None:
        log.info("worker.ready", hostname=name, pid=os.getpid(), queue=w.queue, pool=pool or w.pool,
                 concurrency=concurrency or w.concurrency)
        if ready:
            ready()

    worker = app.Worker(hostname=name, concurrency=concurrency or w.concurrency, pool_cls=POOLS[pool or w.pool],
                        queues=[w.queue], loglevel=loglevel, without_gossip=True, without_mingle=True,
                        without_heartbeat=True, quiet=True, optimization="fair")
    worker.start()
    return int(worker.exitcode or 0)


def safe_broker_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, parts.fragment))


def _enqueue(app: Any, config: Config, names: list[str]) -> None:
    """Publish ``names``; a broker that cannot be reached is :class:`BrokerUnavailableError`
    (one line naming the URL without its password), never a traceback."""
    try:
        for name in names:
            app.tasks[name].apply_async()
    except (KombuOperationalError, OSError) as exc:
        url = config.worker.broker_url
        password = urlsplit(url).password
        reason = (str(exc) or type(exc).__name__).rstrip(". ")
        if password:
            reason = reason.replace(password, "***")
        raise BrokerUnavailableError(url=safe_broker_url(url), reason=reason) from None


def enqueue_once(config: Config) -> list[str]:
    """Enqueue one round of the scheduled work now (``loadmon scheduler --once``)."""
    app = make_app(config)
    names = initial_tasks(config)
    _enqueue(app, config, names)
    log.info("scheduler.enqueued", tasks=names)
    return names


def run_scheduler(config: Config, *, loglevel: str = "WARNING") -> int:
    """Run the periodic scheduler until SIGTERM/SIGINT (exit 0). Raises DaemonLockedError
    when a daemon or another scheduler already runs on this database."""
    schedule.validate(config)
    svc = Service.open(config)
    lock = jobs.acquire_daemon_lock(svc)
    run_id = jobs.daemon_started(svc)
    error = None
    try:
        app = make_app(config)
        app.conf.beat_schedule = beat_schedule(config)
        _enqueue(app, config, initial_tasks(config))
        log.info("scheduler.started", pid=os.getpid(), lock=lock.description, queue=config.worker.queue,
                 schedule={k: str(v["schedule"]) for k, v in app.conf.beat_schedule.items()})
        beat = app.Beat(loglevel=loglevel, scheduler="celery.beat:Scheduler", quiet=True, redirect_stdouts=False)
        try:
            beat.run()
        except SystemExit:
            pass
        return 0
    except BaseException as exc:
        error = jobs.error_text(exc, svc)
        raise
    finally:
        jobs.daemon_stopped(svc, run_id, counts={"scheduler": True}, error=error)
        lock.release()
        svc.close()
        log.info("scheduler.stopped")


__all__ = ["beat_schedule", "enqueue_once", "initial_tasks", "run_scheduler", "run_worker"]
