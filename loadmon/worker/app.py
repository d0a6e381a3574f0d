"""The Celery application: broker, queue and the delivery guarantees, from ``[worker]``.

Why these settings (docs/deploy.md, "Several workers"):

- ``task_acks_late``: a task message is acknowledged when the task *ends*, not when a worker
  takes it. A worker killed mid-task (SIGKILL, OOM, power cut) never acknowledged it, so the
  broker gives it to another worker: with Redis once ``visibility_timeout_s`` has passed since
  the dead worker took it (another worker's periodic sweep, every ``restore_interval_s``).
- ``task_reject_on_worker_lost``: when a prefork *child* dies mid-task, its parent puts the
  message straight back on the queue (instead of acknowledging it as failed).
- ``worker_prefetch_multiplier = 1``: a worker reserves one message per free slot, so a
  long backfill never holds other athletes' syncs hostage in its prefetch buffer.
- JSON only (no pickle), no result backend (each run is recorded in ``job_runs`` already).

Every task is idempotent (upserts, dedupe keys, leased outbox rows, cursors), which is what
makes "at least once" delivery of task messages safe.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from loadmon.config import Config

APP_NAME = "loadmon"


def celery_settings(config: Config) -> dict[str, Any]:
    """The Celery configuration for ``config`` (no connection is made here)."""
    w = config.worker
    transport: dict[str, Any] = {
        "visibility_timeout": w.visibility_timeout_s,
        "unacked_restore_interval": w.restore_interval_s,
        "unacked_restore_throttle": 1,  # restore_interval_s alone sets how often dead workers' tasks are looked for
    }
    if w.key_prefix:
        transport["global_keyprefix"] = w.key_prefix
    return {
        "broker_url": w.broker_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": w.queue,
        "task_default_exchange": w.queue,
        "task_default_routing_key": w.queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,  # a task that raised is recorded in job_runs; do not loop on it
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "timezone": "UTC",
        "enable_utc": True,
        "worker_hijack_root_logger": False,  # loadmon's JSON logging stays in charge
        "worker_redirect_stdouts": False,
        "worker_send_task_events": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "beat_max_loop_interval": 5,
    }


def make_app(config: Config) -> Celery:
    """A Celery app for ``config`` with loadmon's tasks registered (and the per-process
    service of :mod:`loadmon.worker.runtime` pointed at ``config``)."""
    from loadmon.worker import runtime, tasks

    app = Celery(APP_NAME, set_as_current=True)
    app.conf.update(celery_settings(config))
    runtime.configure(config)
    tasks.register(app)
    return app


__all__ = ["APP_NAME", "celery_settings", "make_app"]
