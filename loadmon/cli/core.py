"""Foundation commands: db, athlete, import, activities, config."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from loadmon.cli.app import (  # noqa: F401
    EXIT_BAD_INPUT,
    app,
    console,
    err_console,
    fail,
    get_config,
    get_service,
    handled,
    lazy,
    parse_date,
    print_json,
    state,
)
from loadmon.cli.render import Col, clean, plural, print_table, say

import_service = lazy("loadmon.service.imports")
activity_views = lazy("loadmon.service.activity_views")

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
athlete_app = typer.Typer(help="Athlete settings (time zone, heart rate, sex for TRIMP).", no_args_is_help=True)
config_app = typer.Typer(help="Configuration checks.", no_args_is_help=True)
activities_app = typer.Typer(help="Stored activities: list them (default), exclude one from the load, include it again.")
app.add_typer(db_app, name="db")
app.add_typer(athlete_app, name="athlete")
app.add_typer(config_app, name="config")
app.add_typer(activities_app, name="activities")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database or upgrade its schema to the latest migration."""
    with handled():
        svc = get_service()
        say(f"database schema at revision {svc.store.schema_revision()}")


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration as every command does (keys, alert channels, rule thresholds; exit 2 naming the
    key); print where it came from and the database URL (no secrets)."""
    with handled():
        cfg = get_config()
        from loadmon.service.diagnostics import describe_config

        for key, value in describe_config(cfg).items():
            say(f"{key}: {value}")


@athlete_app.command("set")
def athlete_set(
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA time zone, e.g. Europe/London.")] = None,
    hr_rest: Annotated[int | None, typer.Option("--hr-rest", help="Resting heart rate (bpm).")] = None,
    hr_max: Annotated[int | None, typer.Option("--hr-max", help="Maximum heart rate (bpm).")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="male or female (Banister TRIMP constants).")] = None,
) -> None:
    """Set the athlete's time zone, resting/maximum heart rate and sex."""
    with handled():
        svc = get_service()
        athlete = svc.set_athlete(svc.athlete(state.athlete), timezone_name=timezone, hr_rest=hr_rest, hr_max=hr_max, sex=sex)
        _print_athlete(athlete)


@athlete_app.command("show")
def athlete_show(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the athlete's settings."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        if json_out:
            print_json({"id": athlete.id, "name": athlete.name, "timezone": athlete.timezone, "hr_rest": athlete.hr_rest,
                        "hr_max": athlete.hr_max, "sex": athlete.sex})
        else:
            _print_athlete(athlete)


@athlete_app.command("add")
def athlete_add(
    name: Annotated[str, typer.Argument(help="Athlete name (unique).")],
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA time zone.")] = None,
) -> None:
    """Add an athlete (for clubs and coaches; a single runner needs no set-up). Exit 2 when the name exists."""
    with handled():
        svc = get_service()
        athlete = svc.add_athlete(name, timezone_name=None, exist_ok=False)
        if timezone:
            athlete = svc.set_athlete(athlete, timezone_name=timezone)
        _print_athlete(athlete)


@athlete_app.command("list")
def athlete_list() -> None:
    """List athletes."""
    with handled():
        for a in get_service().store.list_athletes():
            say(clean(a.name), "\t", a.timezone)  # one line per athlete, whatever the name holds


def _print_athlete(a) -> None:
    say(f"athlete {a.name}: timezone {a.timezone}, hr_rest {a.hr_rest or '-'}, hr_max {a.hr_max or '-'}, "
        f"sex {a.sex or '-'}")


@app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="FIT files, folders (recursive), .zip archives or .fit.gz files.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Do not evaluate alert rules after importing.")] = False,
    allow_truncated: Annotated[bool, typer.Option("--allow-truncated", help="Import the readable part of FIT files whose end is missing (marked truncated).")] = False,
) -> None:
    """Import activities from FIT files. Idempotent; exit 1 when some files failed (the others are imported)."""
    with handled():
        svc = get_service()
        if not no_alerts:
            from loadmon.service.alerting import validate_channels

            validate_channels(svc.config)  # a bad SMTP/apprise setting stops us before anything is stored
        athlete = svc.athlete(state.athlete)
        for p in paths:
            if not p.exists():
                fail(f"{p}: no such file or folder", EXIT_BAD_INPUT)
        if sys.stderr.isatty() and not json_out:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            total = import_service.count_inputs(paths, svc.config)
            with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=err_console, transient=True) as progress:
                task = progress.add_task("import", total=total)
                summary = import_service.import_paths(svc, athlete, paths, on_file=lambda _r: progress.advance(task),
                                                      allow_truncated=allow_truncated)
        else:
            summary = import_service.import_paths(svc, athlete, paths, allow_truncated=allow_truncated)
        after = _after_import(svc, summary, no_alerts)
        data = summary.as_dict() | (after.to_dict() if after else {})
        if json_out:
            print_json(data)
        else:
            say(f"imported {data['imported']} file(s) ({data['new_activities']} new activities), "
                f"{data['duplicate']} duplicate, {data['skipped']} skipped, {data['failed']} failed"
                + (f", {data['not_activities']} not activities (monitoring, sleep, settings ... files)"
                   if data["not_activities"] else ""))
            for s in data["skips"]:
                say(f"  skipped {s['file']}: {s['reason']}", err=True)
            for n in data["notices"]:
                say(f"  note {n['file']}: {n['notice']}", err=True)
            for f in data["failures"]:
                say("  ", ("failed", "red"), f" {f['file']}: {f['reason']}", err=True)
            if after is not None and after.alerts_new:
                from loadmon.service.alerting import summary_line

                say(summary_line(after))
        if summary.failed:
            raise typer.Exit(1)


def _after_import(svc, summary, no_alerts: bool):
    """Evaluate the rules for the athletes the import touched and deliver what is due
    (:func:`loadmon.service.after_store.after_change`); None when nothing is evaluated."""
    if no_alerts or not summary.athlete_ids:
        return None
    from loadmon.service.after_store import after_change

    return after_change(svc, summary.athlete_ids)


@activities_app.callback(invoke_without_command=True)
def activities_cmd(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Only activities on or after this local date (YYYY-MM-DD).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    include_deleted: Annotated[bool, typer.Option("--deleted", help="Include activities deleted at their source.")] = False,
) -> None:
    """List stored activities (a table, or JSON with --json); excluded ones are marked."""
    if ctx.invoked_subcommand is not None:
        return
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        since_d = parse_date(since, "--since")
        acts = activity_views.list_activities(svc, athlete, since=since_d, include_deleted=include_deleted)
        if json_out:
            print_json([activity_views.activity_json(a, athlete.timezone) for a in acts])
            return
        if not acts:
            say(f"no activities of {athlete.name} yet: import your runs with `loadmon import PATH`"
                if since_d is None else f"no activities of {athlete.name} since {since_d}")
            return
        columns = [Col("id", "number"), Col("date", "date"), Col("sport"), Col("km", "number"), Col("moving", "number"),
                   Col("ascent m", "number"), Col("descent m", "number"), Col("steep m", "number"), Col("elev. source"),
                   Col("avg HR", "number"), Col("source")]
        rows = [(a.id, a.local_date.isoformat(), a.sport + (" (excluded)" if a.excluded else " (dup)" if a.duplicate_of else "")
                 + (" (truncated)" if a.truncated else ""),
                 _fmt(a.distance_m, 1000, 2), _duration(a.moving_time_s), _fmt(a.elevation_gain_m, 1, 0),
                 _fmt(a.elevation_loss_m, 1, 0), _fmt(a.steep_descent_m, 1, 0), str(a.elevation_source),
                 a.avg_hr or "-", a.source) for a in acts]
        print_table(columns, rows, title=f"{plural(len(acts), 'activity', 'activities')} of {athlete.name}")


def _fmt(v: float | None, div: float, nd: int) -> str:
    return "-" if v is None else f"{v / div:.{nd}f}"


def _duration(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
