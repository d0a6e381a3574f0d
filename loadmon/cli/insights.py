"""`loadmon insights`: the personal back-test (exploratory; docs/insights.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from loadmon.cli.app import app, get_service, handled, lazy, print_json, state
from loadmon.cli.render import Col, print_table, say

insights_service = lazy("loadmon.service.insights")

MEASURE_COLUMNS = (Col("14 days before"), Col("this time"), Col("your usual"))
RULE_COLUMNS = (
    Col("rule"),
    Col("episodes warned", "number"),
    Col("alerts", "number"),
    Col("followed by an episode", "number"),
    Col("nothing following", "number"),
    Col("per month", "number"),
    Col("too recent", "number"),
)


@app.command("insights")
def insights_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON with stable keys (see docs/insights.md).")] = False,
) -> None:
    """Personal back-test (exploratory): the load before each symptom episode, and how often each rule warned or fired with nothing following."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        data = insights_service.insights_json(insights_service.insights(svc, athlete))
        if json_out:
            print_json(data)
        else:
            _print(data)


def _value(v: Any, reason: str | None, unit: str) -> str:
    if v is None:
        return reason or "-"
    if unit == "%":
        return f"{v:+.0f}%"
    if unit == "x":
        return f"{v:.2f}"
    if unit == "":
        return f"{v:g}"
    return f"{v:.1f} {unit}" if unit == "km" else f"{v:.0f} {unit}"


def _print(d: dict[str, Any]) -> None:
    span = f"{d['first_day']} to {d['last_day']}, {d['history_months']:.1f} months" if d["first_day"] else "no runs yet"
    say((d["athlete"], "bold"), f": personal back-test ({span}). Exploratory, not a diagnosis.")
    for i, e in enumerate(d["episodes"], 1):
        say("")
        say(
            (f"Episode {i}", "bold"),
            f": {e['side']} {e['site']}, began {e['began']} (peak severity {e['peak_severity']}/10); "
            f"the {d['window_days']} days before: {e['window_first_day']} to {e['window_last_day']}",
        )
        rows = [
            (m["label"], _value(m["value"], m["reason"], m["unit"]), _value(m["usual"], m["usual_reason"], m["unit"]))
            for m in e["measures"].values()
        ]
        print_table(MEASURE_COLUMNS, rows)
        say(f"rules that warned in those {d['window_days']} days: {', '.join(e['warned_by']) or 'none'}")
    say("")
    say(
        (f"Rules against your {len(d['episodes'])} episode(s)", "bold"),
        f" (an alert up to {d['window_days']} days before an episode warned of it; 'nothing following': "
        f"no episode began in the {d['window_days']} days after the alert):",
    )
    rule_rows: list[tuple[Any, ...]] = [
        (
            r["rule"],
            f"{r['episodes_warned']} of {r['episodes_total']}",
            r["alerts_total"],
            r["alerts_followed"],
            r["alerts_nothing_following"],
            "-" if r["nothing_following_per_month"] is None else f"{r['nothing_following_per_month']:.2f}",
            r["alerts_too_recent"],
        )
        for r in d["rules"]
    ]
    print_table(RULE_COLUMNS, rule_rows)
    say("follows symptoms, not counted: " + ", ".join(f"{n['rule']} ({n['alerts_total']} alerts)" for n in d["not_counted"]))
    say(f"usual: the median of {d['quiet_windows']} quiet {d['window_days']}-day windows (no episode in or just after them)")
    say(d["note"])
