"""`loadmon strava connect|disconnect|status|backfill` and the top-level `loadmon sync`.

Exit codes: 0 ok, 1 errors (some activities could not be read, access revoked, Strava down),
2 configuration (e.g. missing ``[strava] client_id`` / ``client_secret``), 3 the request budget
is spent and ``--no-wait`` was given (the message says when to run again), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys
import webbrowser
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loadmon.cli.app import app, console, err_console, fail, get_config, get_service, handled, lazy, parse_date, print_json, state, warn  # noqa: F401
from loadmon.cli.render import say
from loadmon.errors import ConfigError, LoadmonError, RateLimitExhausted

strava_sync = lazy("loadmon.service.strava_sync")
if TYPE_CHECKING:
    from loadmon.service.strava import BackfillProgress

strava_app = typer.Typer(help="Strava: connect an account, backfill the history, check the connection and budget.",
                         no_args_is_help=True)
app.add_typer(strava_app, name="strava")

EXIT_ERRORS = 1
EXIT_BUDGET = 3
EXIT_INTERRUPTED = 130


def _say(text: str) -> None:
    say(text)


def _warn(text: str) -> None:
    warn(text)


def _open_browser(url: str) -> None:
    try:
        webbrowser.open(url)
    except Exception:
        pass


# ------------------------------------------------------------------------------------ connect
@strava_app.command("connect")
def connect_cmd(
    code: Annotated[str | None, typer.Option("--code", help="Headless: the code from Strava's redirect, or the whole redirected URL (then the scope is checked too).")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="With a bare --code: the scope= value of the redirect.")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the authorization URL.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the redirect.")] = 300.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Connect the athlete's Strava account (OAuth; scope activity:read_all). Opens the authorization page and
    receives the redirect on 127.0.0.1 (port: strava.redirect_port); with --code, just exchanges the code."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        if code is not None:
            bare, url_scope, _state = strava_sync.parse_redirect(code)
            result = strava_sync.complete_connect(svc, athlete, code=bare, scope=scope or url_scope)
        else:
            port = svc.config.strava.redirect_port
            oauth_state = strava_sync.new_oauth_state()
            url = strava_sync.connect_url(svc, athlete, redirect_uri=strava_sync.redirect_uri_for(port), state=oauth_state)
            with strava_sync.OAuthCallback(port, state=oauth_state) as callback:
                _say(f"Open this page to let loadmon read {athlete.name}'s Strava activities:\n{url}")
                _say(f"Waiting for Strava's redirect on {callback.redirect_uri} (up to {timeout:g} s). Without a "
                     "browser here: open the page elsewhere, then run `loadmon strava connect --code '<redirected URL>'`.")
                if not no_browser:
                    _open_browser(url)
                received_code, received_scope = callback.wait(timeout)
            result = strava_sync.complete_connect(svc, athlete, code=received_code, scope=received_scope)
        if json_out:
            print_json(result.to_dict())
        else:
            _say(f"connected {result.athlete} to Strava athlete {result.strava_athlete_id} (scope "
                 f"{result.scope or 'unknown'}); run `loadmon strava backfill` to read the history")
        for w in result.warnings:
            _warn(w)


@strava_app.command("disconnect")
def disconnect_cmd() -> None:
    """Revoke loadmon's access on Strava, delete the stored tokens (locally even when Strava cannot be reached) and
    the activities that came from Strava (Strava's terms); FIT/file-sourced activities stay."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        out = strava_sync.disconnect(svc, athlete)
        if not out["was_connected"]:
            _say(f"{athlete.name} is not connected to Strava")
            return
        if out["remote_error"]:
            _say(f"deleted {athlete.name}'s Strava tokens here")
            fail(f"Strava did not confirm the revocation: {out['remote_error']}", EXIT_ERRORS)
        _say(f"disconnected {athlete.name} from Strava (access revoked, tokens deleted, {out['deleted_activities']} "
             "Strava activities deleted as Strava's terms require; FIT/file activities kept)")


# ------------------------------------------------------------------------------------- status
def _when(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


@strava_app.command("status")
def status_cmd(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Connection state, token expiry, backfill position, last sync and the request budget (never the tokens)."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        info = strava_sync.status(svc, athlete)
        if json_out:
            print_json(info)
            return
        if not info["credentials_configured"]:
            _warn("[strava] client_id / client_secret are not set (LOADMON_STRAVA__CLIENT_ID / __CLIENT_SECRET)")
        if not info["connected"]:
            _say(f"{athlete.name}: not connected to Strava (run `loadmon strava connect`)")
        else:
            state_text = "NEEDS RE-AUTHORISATION (run `loadmon strava connect`)" if info["needs_reauth"] else "connected"
            expiry = _when(info["token_expires_at"]) + (" (expired: refreshed on next use)" if info["token_expired"] else "")
            _say(f"{athlete.name}: {state_text} as Strava athlete {info['strava_athlete_id']}, scope {info['scope'] or '?'}")
            _say(f"  access token expires {expiry}")
        bf = info.get("backfill")
        if bf:
            where = "complete" if bf.get("done") else "in progress"
            resume = f", resume after {_when(bf['resume_at'])}" if bf.get("resume_at") and not bf.get("done") else ""
            position = f"read up to {_when(bf.get('cursor'))}" if bf.get("cursor") else "first page not finished"
            _say(f"  backfill {where}: {position}, {bf.get('listed', 0)} activities listed, "
                 f"{bf.get('requests', 0)} requests{resume}")
        else:
            _say("  backfill: not started (`loadmon strava backfill`)")
        last = info.get("last_sync")
        if last:
            c = last.get("counts", {})
            _say(f"  last sync {_when(last.get('at'))}: {c.get('new', 0)} new, {c.get('updated', 0)} updated, "
                 f"{c.get('deleted', 0)} deleted, {c.get('errors', 0)} errors")
        for b in info["budget"]:
            _say(f"  budget {b['kind']}: {b['window_used']}/{b['window_limit']} this 15-min window, "
                 f"{b['day_used']}/{b['day_limit']} today (margin {b['margin']})")


# ----------------------------------------------------------------------------------- backfill
def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "ETA ?"
    s = int(round(seconds))
    if s >= 86_400:
        return f"ETA {s // 86_400} d {s % 86_400 // 3600} h"
    if s >= 3600:
        return f"ETA {s // 3600} h {s % 3600 // 60:02d} min"
    return f"ETA {s // 60} min {s % 60:02d} s"


@strava_app.command("backfill")
def backfill_cmd(
    since: Annotated[str | None, typer.Option("--since", help="Start at this local date (YYYY-MM-DD) instead of the first activity.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Stop when the request budget is spent (exit 3, says when to resume) instead of waiting for the next window.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Read the whole Strava history within the rate limits, oldest first; resumable (run it again to continue)."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        since_d = parse_date(since, "--since")
        try:
            if sys.stderr.isatty() and not json_out:
                out = _backfill_with_progress(svc, athlete, since_d, not no_wait)
            else:
                out = strava_sync.backfill(svc, athlete, since=since_d, wait=not no_wait)
        except KeyboardInterrupt:
            fail("interrupted: what was read is stored; run `loadmon strava backfill` again to continue", EXIT_INTERRUPTED)
        if json_out:
            print_json(out)
        else:
            where = "complete" if out["done"] else ("stopped" if out["stopped"] else "paused")
            position = f"read up to {_when(out['cursor'])}" if out["cursor"] else "the first page is not finished yet"
            _say(f"backfill of {athlete.name} {where}: {out['new']} new, {out['updated']} updated, {out['unchanged']} "
                 f"unchanged, {out['errors']} errors; {out['requests']} requests; {position}")
            for msg in out["error_messages"]:
                say("  ", ("error", "red"), f" {msg}", err=True)
            _print_alerts(out)
        if out["resume_at"]:
            say(f"{out['message']}: run `loadmon strava backfill` again then", err=True)
            raise typer.Exit(EXIT_BUDGET)
        if out["errors"]:
            raise typer.Exit(EXIT_ERRORS)


def _backfill_with_progress(svc: Any, athlete: Any, since: Any, wait: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn

    columns = (TextColumn("backfill"), BarColumn(), TextColumn("{task.completed}/{task.fields[total_text]} activities"),
               TextColumn("{task.fields[eta]}"), TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("backfill", total=None, total_text="?", eta="ETA ?", note="")

        def on_progress(p: BackfillProgress) -> None:
            note = f"waiting for the rate-limit window until {p.waiting_until:%H:%M} UTC" if p.waiting_until else ""
            bar.update(task, completed=p.listed, total=p.estimated_total,
                       total_text=f"~{p.estimated_total}" if p.estimated_total else "?", eta=_duration(p.eta_s), note=note)

        return strava_sync.backfill(svc, athlete, since=since, wait=wait, progress=on_progress)


def _print_alerts(out: dict[str, Any]) -> None:
    alerts = out.get("alerts")
    if alerts and alerts.get("alerts_new"):
        from loadmon.service.alerting import summary_line
        _say(f"  {summary_line(alerts)}")
    if out.get("alerts_error"):
        _warn(f"alert rules not evaluated: {out['alerts_error']}")


# --------------------------------------------------------------------------------------- sync
@app.command("sync")
def sync_cmd(
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Stop when the request budget is spent (exit 3) instead of waiting for the next window.")] = False,
    athlete_name: Annotated[str | None, typer.Option("--athlete", "-a", help="Only this athlete (default: every connected athlete).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts per athlete as JSON.")] = False,
) -> None:
    """Incremental Strava sync plus reconciliation of the last strava.reconcile_days (deletions, edits), then the
    alert rules. Every connected athlete, or --athlete."""
    with handled():
        strava_sync.require_credentials(get_config())  # before any other work: the database is not even opened
        svc = get_service()
        name = athlete_name or state.athlete
        athletes = [svc.athlete(name)] if name else strava_sync.connected_athletes(svc)
        if not athletes:
            fail("no athlete is connected to Strava: run `loadmon strava connect`", EXIT_ERRORS)
        results: list[dict[str, Any]] = []
        code = 0
        for athlete in athletes:
            try:
                out = strava_sync.sync(svc, athlete, wait=not no_wait)
            except RateLimitExhausted as exc:
                counts = dict(getattr(exc, "counts", {}) or {})
                out = {"athlete": athlete.name, **counts, "resume_at": exc.resume_at.isoformat(),
                       "message": f"Strava request budget spent: {strava_sync.format_resume(exc.resume_at, svc.clock())}"}
                code = EXIT_BUDGET
            except ConfigError:  # the same for every athlete: exit 2
                raise
            except LoadmonError as exc:  # e.g. access revoked: say so, go on with the others
                out = {"athlete": athlete.name, "error": str(exc)}
                code = code or EXIT_ERRORS
            else:
                if out.get("errors"):
                    code = code or EXIT_ERRORS
            results.append(out)
        if json_out:
            print_json(results)
        else:
            for out in results:
                _print_sync(out)
        if code:
            raise typer.Exit(code)


def _print_sync(out: dict[str, Any]) -> None:
    name = out["athlete"]
    if "error" in out:
        say(("error:", "bold red"), f" {name}: {out['error']}", err=True)
        return
    if out.get("resume_at"):
        say(f"{name}: {out['message']}: run `loadmon sync` again then", err=True)
        if not out.get("requests"):
            return
    _say(f"{name}: {out.get('new', 0)} new, {out.get('updated', 0)} updated, {out.get('deleted', 0)} deleted, "
         f"{out.get('unchanged', 0)} unchanged, {out.get('errors', 0)} errors ({out.get('requests', 0)} requests)")
    for msg in out.get("error_messages", []):
        say("  ", ("error", "red"), f" {msg}", err=True)
    bf = out.get("backfill")
    if bf:
        if bf.get("error"):
            _warn(f"backfill not continued: {bf['error']}")
        else:
            left = "complete" if bf.get("done") else f"paused ({bf.get('message') or 'stopped'})"
            _say(f"  backfill continued: {bf.get('new', 0)} new; {left}")
    _print_alerts(out)
