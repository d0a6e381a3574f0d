"""`loadmon status` and `loadmon report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loadmon.cli.app import app, console, fail, get_service, handled, parse_date, print_json, state
from loadmon.service import load as load_service

ZONE_LABEL = {"low": "below 0.8", "sweet_spot": "0.8-1.3", "caution": "1.3-1.5", "danger": ">= 1.5", None: ""}


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


def _print_status(d: dict) -> None:
    console.print(f"[bold]{d['athlete']}[/] on {d['date']} ({d['timezone']})", highlight=False)
    table = Table(show_header=True)
    for col in ("channel", "last 7 d", "7 d before", "ramp", "chronic/wk", "ACWR coupled", "ACWR uncoupled", "ACWR EWMA",
                "fitness", "fatigue", "form"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    for name, c in d["channels"].items():
        if not c["available"]:
            table.add_row(name, *(["-"] * 4), c["reason"] or "", "", "", "", "", "")
            continue
        acwr = [f"{_num(c['acwr'][k], 2)} {ZONE_LABEL[c['acwr_zone'][k]]}" if c["acwr"][k] is not None
                else (c["acwr_reasons"][k] or "-") for k in ("rolling_coupled", "rolling_uncoupled", "ewma")]
        ramp = _num(c["ramp_pct"], 0, "%") if c["ramp_pct"] is not None else (c["ramp_reason"] or "-")
        table.add_row(name, _num(c["acute_7d"]), _num(c["previous_7d"]), ramp, _num(c["chronic_weekly"]), *acwr,
                      _num(c["fitness"]), _num(c["fatigue"]), _num(c["form"]))
    console.print(table)
    lr = d["longest_run_30d"]
    console.print(f"longest run in the last 30 days: {_num(lr['distance_km'], 2, ' km')} on {lr['local_date']}" if lr
                  else "longest run in the last 30 days: none", highlight=False)
    last = d["last_run"]
    if last:
        band = last["spike_words"] or f"spike: {last['spike_reason']}"
        hrr = f", hazard ratio {last['spike_hrr']}" if last["spike_hrr"] and last["spike_hrr"] != 1.0 else ""
        console.print(f"last run: {last['local_date']}, {_num(last['distance_km'], 2, ' km')}, {band}{hrr}; "
                      f"descent {_num(last['descent_m'], 0, ' m')}", highlight=False)
    for s in d["active_symptoms"]:
        console.print(f"active symptom #{s['id']}: {s['site']} ({s['side']}, {s['location'] or '-'}), severity {s['severity']}, "
                      f"since {s['started_at'][:16]}", highlight=False)


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
        console.print(f"report written to {out} ({size // 1024} KiB, readable by you only)", highlight=False)
