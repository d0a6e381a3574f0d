"""`loadmon worker` and `loadmon scheduler`: scale-out on Celery with Redis (docs/deploy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from loadmon.cli.app import app, console, fail, get_config, handled  # noqa: F401
from loadmon.cli.render import say
from loadmon.errors import DaemonLockedError
from loadmon.logs import configure_logging

EXIT_LOCKED = 3


def _worker_module():
    try:
        import loadmon.worker as worker
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("celery", "kombu", "redis", "billiard"):
            fail(f"`loadmon worker` and `loadmon scheduler` need Celery with Redis ({exc.name} is not installed): "
                 "pip install 'loadmon[scale]' (or '.[scale]' from the source tree)", 2)
        raise
    return worker


@app.command("worker")
def worker_cmd(
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-n", min=1, help="Tasks run at the same time (default: worker.concurrency).")] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="prefork (processes), threads or solo (default: worker.pool).")] = None,
    hostname: Annotated[str | None, typer.Option("--hostname", help="Worker name in logs (default: loadmon-<pid>@<host>).")] = None,
    log_console: Annotated[bool, typer.Option("--log-console", help="Human-readable logs instead of JSON lines.")] = False,
) -> None:
    """Run a Celery worker until SIGTERM: per-athlete Strava syncs, rule evaluation, alert delivery, watched folders.

    Run as many as you like, on several hosts, against one PostgreSQL database and one Redis
    (worker.broker_url). Needs the `scale` extra (celery[redis])."""
    with handled():
        cfg = get_config()
        configure_logging(json=not log_console, level=cfg.logging.level)
        if pool is not None and pool not in ("prefork", "threads", "solo"):
            fail(f"--pool: {pool!r} is not allowed (allowed: prefork, threads, solo)", 2)
        run_worker = _worker_module().run_worker
        code = run_worker(cfg, concurrency=concurrency, pool=pool, hostname=hostname)
        if code:
            raise typer.Exit(code)


@app.command("scheduler")
def scheduler_cmd(
    once: Annotated[bool, typer.Option("--once", help="Enqueue one round (sync of every athlete, delivery, watched folders, housekeeping) and exit.")] = False,
    log_console: Annotated[bool, typer.Option("--log-console", help="Human-readable logs instead of JSON lines.")] = False,
) -> None:
    """Run the periodic scheduler for the workers until SIGTERM (exit 0): enqueues each athlete's Strava sync every
    daemon.sync_interval_minutes, delivery, watched folders, the nightly reconciliation. One per database (exit 3
    when a scheduler or a daemon already runs)."""
    with handled():
        cfg = get_config()
        configure_logging(json=not log_console, level=cfg.logging.level)
        worker = _worker_module()
        if once:
            names = worker.enqueue_once(cfg)
            say("enqueued: " + ", ".join(names))
            return
        try:
            code = worker.run_scheduler(cfg)
        except DaemonLockedError as exc:
            fail(str(exc).replace("another loadmon daemon", "a loadmon daemon or scheduler"), EXIT_LOCKED)
        if code:
            raise typer.Exit(code)
