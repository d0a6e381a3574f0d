"""`loadmon daemon`: the background scheduler, `--once`, and `loadmon daemon status`."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from loadmon.cli.app import Service, app, console, err_console, fail, get_config, handled, print_json, state  # noqa: F401
from loadmon.cli.render import Col, print_table, say, styled
from loadmon.errors import DaemonLockedError, StorageError
from loadmon.logs import configure_logging

daemon_app = typer.Typer(
    help="Run the background daemon in the foreground until SIGTERM/SIGINT (exit 0): Strava sync, watched FIT "
         "folders, alert delivery, nightly reconciliation, and the web app when [web] enabled = true. JSON logs on stderr. Exit 3 when another daemon "
         "already runs on the same database.",
    invoke_without_command=True,
)
app.add_typer(daemon_app, name="daemon")

EXIT_LOCKED = 3


@daemon_app.callback(invoke_without_command=True)
def daemon_run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run every job once (import watched folders, Strava sync, rule evaluation, delivery), then exit.")] = False,
    log_console: Annotated[bool, typer.Option("--log-console", help="Human-readable logs instead of JSON lines.")] = False,
) -> None:
    """Run the daemon in the foreground until SIGTERM/SIGINT (exit 0). Exit 3 when another
    daemon already runs on the same database."""
    if ctx.invoked_subcommand is not None:
        return
    from loadmon.daemon import Daemon

    with handled():
        cfg = get_config()
        configure_logging(json=not log_console, level=cfg.logging.level)
        svc = Service.open(cfg)
        state.service = svc
        daemon = Daemon(svc)
        try:
            if once:
                results = daemon.run_once()
                _print_once(results)
                if any(r.outcome == "error" for r in results + [t for r in results for t in r.then]):
                    raise typer.Exit(1)
                return
            web = _WebBeside(svc) if cfg.web.enabled else None
            try:
                code = daemon.run(ready=web.start if web else None)
            finally:
                if web:
                    web.stop()
        except DaemonLockedError as exc:
            fail(str(exc), EXIT_LOCKED)
        if daemon.forced:  # a job ignored the stop flag: do not wait for its thread
            svc.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        if code:
            raise typer.Exit(code)


class _WebBeside:
    """``[web] enabled``: the web app on uvicorn in the daemon process, started once the daemon holds
    its lock and runs its jobs, stopped when it stops (SIGTERM stops both)."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.server: Any = None  # a loadmon.web.server.BackgroundServer once started (imported only then)

    def start(self) -> None:
        from loadmon.logs import get_logger
        from loadmon.web.server import BackgroundServer

        cfg = self.svc.config.web
        server = self.server = BackgroundServer(self.svc, host=cfg.host, port=cfg.port)
        server.start()
        get_logger("loadmon.daemon").info("daemon.web_started", host=cfg.host, port=cfg.port,
                                          url=f"http://{cfg.host}:{cfg.port}/")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def _print_once(results) -> None:
    for r in results:
        for run in (r, *r.then):
            who = f" athlete {run.athlete_id}" if run.athlete_id is not None else ""
            counts = " ".join(f"{k}={v}" for k, v in run.counts.items() if not isinstance(v, (list, dict)))
            extra = f": {run.error}" if run.error else ""
            say(f"{run.job}{who}: {run.outcome} {counts}{extra}".rstrip())


@daemon_app.command("status")
def daemon_status(json_out: Annotated[bool, typer.Option("--json", help="Print the health report as JSON.")] = False) -> None:
    """Health of the daemon's jobs: last run, next expected run, last error.

    Exit 0 when healthy; 1 when the daemon is not running (stopped, killed, crashed), a job's
    last run failed, a job is overdue, or the daemon never ran (usable by systemd and a
    container HEALTHCHECK). After a `--once` pass (cron) the recorded runs decide."""
    from loadmon.daemon import report

    with handled():
        cfg = get_config()
        try:
            svc = Service.open(cfg, migrate=False)  # read only: never create or upgrade from a health check
        except StorageError as exc:
            if json_out:
                print_json({"healthy": False, "problems": [f"the daemon never ran on this database, or it cannot be read: {exc}"],
                            "jobs": [], "warnings": [], "daemon": {"ever_ran": False}})
            else:
                say(("unhealthy:", "bold red"), f" the daemon never ran on this database, or it cannot be read: {exc}", err=True)
            raise typer.Exit(1) from None
        state.service = svc
        rep = report(svc)
        if json_out:
            print_json(rep.as_dict())
        else:
            _print_report(rep)
        if not rep.healthy:
            raise typer.Exit(1)


def _t(dt) -> str:
    return "-" if dt is None else dt.strftime("%Y-%m-%d %H:%M:%S")


def _print_report(rep) -> None:
    d = rep.daemon
    if not d.get("ever_ran"):
        say("daemon: never ran on this database")
    elif d.get("running"):
        say(f"daemon: running since {_t(d['started_at'])} UTC")
    elif d.get("not_running"):
        say(f"daemon: not running ({d['not_running']})")
    else:
        kind = "not running; last pass (--once)" if d.get("once") else "stopped"
        say(f"daemon: {kind}, started {_t(d['started_at'])} UTC, ended {_t(d.get('stopped_at'))} UTC")
    columns = [Col("job"), Col("athlete"), Col("schedule"), Col("last start (UTC)", "date"), Col("outcome"),
               Col("counts"), Col("next expected (UTC)", "date"), Col("state")]
    rows = []
    for j in rep.jobs:
        counts = ", ".join(f"{k} {v}" for k, v in j.counts.items() if v and not isinstance(v, (list, dict)))
        style = {"failed": "red", "overdue": "red", "never_ran": "yellow"}.get(j.state, "")
        rows.append((j.job, j.athlete or "-", j.schedule, _t(j.last_started_at), j.outcome or "-", counts or "-",
                     _t(j.next_expected_at), styled(j.state, style)))
    print_table(columns, rows, title=f"jobs at {_t(rep.checked_at)} UTC")
    for j in rep.jobs:
        if j.last_error:
            say(f"last error of {j.job}{' (' + j.athlete + ')' if j.athlete else ''} at {_t(j.last_error_at)} UTC: "
                f"{j.last_error}")
    for w in rep.warnings:
        say(("warning:", "yellow"), f" {w}")
    if rep.healthy:
        say(("healthy", "green"))
    for p in rep.problems:
        say(("unhealthy:", "bold red"), f" {p}")
