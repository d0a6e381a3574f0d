"""`loadmon status` and `loadmon report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from loadmon.cli.app import app, console, fail, get_service, handled, lazy, parse_date, print_json, state  # noqa: F401
from loadmon.cli.render import Col, print_table, say
from loadmon.load_channels import ACWR_KIND_NAMES, ACWR_KIND_SPECS, ACWR_ZONE_RANGES

load_service = lazy("loadmon.service.load")



@app.command("status")
def status_cmd(
    day: Annotated[str | None, typer.Option("--date", help="Day to report (YYYY-MM-DD, athlete-local; default today).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON with stable keys (see README).")] = False,
) -> None:
    """Training load on a day: 7-day distance and descent, ramp, ACWRs with zones, fitness/fatigue/form, spikes, symptoms."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        data = load_service.status(svc, athlete, day=parse_date(day, "--date"))
        if json_out:
            print_json(load_service.status_json(data))
        else:
            _print_status(data)


def _num(v: Any, nd: int = 1, suffix: str = "") -> str:
    return "-" if v is None else f"{v:.{nd}f}{suffix}"


# Ramp and ACWR cells hold a number or the reason it is missing: text (folded between words, never inside one).
COLUMNS = (Col("channel"), Col("last 7 d", "number"), Col("7 d before", "number"), Col("ramp"),
           Col("chronic/wk", "number"), *(Col(f"ACWR {k.short_label}") for k in ACWR_KIND_SPECS),
           Col("fitness", "number"), Col("fatigue", "number"), Col("form", "number"))


def _print_status(d: dict) -> None:
    say((d["athlete"], "bold"), f" on {d['date']} ({d['timezone']})")
    if d["history_start"] is None:
        say("no runs yet: import your runs with `loadmon import PATH` (or connect Strava: `loadmon strava connect`)")
        _print_symptoms(d["active_symptoms"])
        return
    rows = []
    for name, c in d["channels"].items():
        if not c["available"]:
            rows.append((name, "-", "-", "-", "-", c["reason"] or "-", "-", "-", "-", "-", "-"))
            continue
        acwr = [f"{_num(c['acwr'][k], 2)} {ACWR_ZONE_RANGES[c['acwr_zone'][k]]}" if c["acwr"][k] is not None
                else (c["acwr_reasons"][k] or "-") for k in ACWR_KIND_NAMES]
        ramp = _num(c["ramp_pct"], 0, "%") if c["ramp_pct"] is not None else (c["ramp_reason"] or "-")
        rows.append((name, _num(c["acute_7d"]), _num(c["previous_7d"]), ramp, _num(c["chronic_weekly"]), *acwr,
                     _num(c["fitness"]), _num(c["fatigue"]), _num(c["form"])))
    print_table(COLUMNS, rows)
    lr = d["longest_run_30d"]
    say(f"longest run in the last 30 days: {_num(lr['distance_km'], 2, ' km')} on {lr['local_date']}" if lr
        else "longest run in the last 30 days: none")
    last = d["last_run"]
    if last:
        band = last["spike_words"] or f"spike: {last['spike_reason']}"
        hrr = f", hazard ratio {last['spike_hrr']}" if last["spike_hrr"] and last["spike_hrr"] != 1.0 else ""
        say(f"last run: {last['local_date']}, {_num(last['distance_km'], 2, ' km')}, {band}{hrr}; "
            f"descent {_num(last['descent_m'], 0, ' m')}")
    _print_symptoms(d["active_symptoms"])


def _print_symptoms(symptoms: list[dict]) -> None:
    for s in symptoms:
        say(f"active symptom #{s['id']}: {s['site']} ({s['side']}, {s['location'] or '-'}), severity {s['severity']}, "
            f"since {s['started_at'][:16]}")


@app.command("report")
def report_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write (self-contained, works offline; mode 0600).")],
    since: Annotated[str | None, typer.Option("--since", help="First day shown (YYYY-MM-DD; default: the last 6 months).")] = None,
    all_history: Annotated[bool, typer.Option("--all", help="Show the whole history (default: the last 6 months).")] = False,
) -> None:
    """Write a self-contained HTML report: weekly distance and descent, ACWRs, fitness/fatigue/form, spikes, symptoms, alerts."""
    if since is not None and all_history:
        fail("--since and --all: use one of them (--all shows the whole history)", 2)
    first = parse_date(since, "--since")
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        size = load_service.write_report(svc, athlete, out, since=first,
                                         months=None if all_history else load_service.REPORT_MONTHS)
        say(f"report written to {out} ({size // 1024} KiB, readable by you only)")
