"""Scale-out on Celery + Redis: the daemon's jobs as tasks for any number of workers.

    loadmon worker       # a Celery worker (run several, on several hosts, one database)
    loadmon scheduler    # the periodic scheduler (Celery beat): enqueues syncs, delivery, ...

Public API::

    make_app(config) -> celery.Celery            # tasks registered (names in loadmon.worker.tasks)
    celery_settings(config) -> dict              # acks_late, reject_on_worker_lost, visibility timeout...
    run_worker(config, *, concurrency=None, pool=None, hostname=None, loglevel="WARNING") -> int
    run_scheduler(config, *, loglevel="WARNING") -> int
    enqueue_once(config) -> list[str]            # one round of the scheduled work
    beat_schedule(config) -> dict

Tasks call :mod:`loadmon.service.distributed` only (the service layer); see
``docs/deploy.md`` ("Several workers") for the guarantees and why Celery on Redis.
"""

from loadmon.worker.app import celery_settings, make_app
from loadmon.worker.run import beat_schedule, enqueue_once, run_scheduler, run_worker

__all__ = ["beat_schedule", "celery_settings", "enqueue_once", "make_app", "run_scheduler", "run_worker"]
