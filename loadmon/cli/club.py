"""`loadmon club status`: every athlete of the database on one screen (coaches and clubs)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from loadmon.cli.app import app, console, get_service, handled, lazy, parse_date, print_json  # noqa: F401
from loadmon.cli.render import Col, plural, print_table, say, styled

club_service = lazy("loadmon.service.club")

club_app = typer.Typer(help="Several athletes at once: the club / coach view.", no_args_is_help=True)
app.add_typer(club_app, name="club")

LEVEL_STYLE = {"high": "bold red", "elevated": "yellow", "ok": "green", "no data": "dim"}


@club_app.command("status")
def club_status_cmd(
    day: Annotated[str | None, typer.Option("--date", help="Day to report (YYYY-MM-DD; default: each athlete's local today).")] = None,
    sort: Annotated[str, typer.Option("--sort", help="risk (highest risk first) or name.")] = "risk",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (one object per athlete, stable keys).")] = False,
) -> None:
    """One row per athlete: 7-day km, ramp, ACWR (EWMA) and zone, last spike band, symptoms, last alert, risk."""
    with handled():
        svc = get_service()
        rows = club_service.club_status(svc, parse_date(day, "--date"), sort=sort)
        if json_out:
            print_json(rows)
        else:
            _print(rows)


def _num(v: Any, nd: int = 1, suffix: str = "") -> str:
    return "-" if v is None else f"{v:.{nd}f}{suffix}"


def _print(rows: list[dict[str, Any]]) -> None:
    if not rows:
        say("no athletes yet (loadmon athlete add NAME)")
        return
    columns = [Col("athlete"), Col("risk"), Col("score", "number"), Col("7 d km", "number"), Col("ramp"),
               Col("ACWR EWMA"), Col("last run (spike band)"), Col("symptoms"), Col("last alert"), Col("why")]
    table = []
    for r in rows:
        level = r["risk"]["level"]
        acwr = f"{r['acwr_ewma']:.2f} {r['acwr_zone']}" if r["acwr_ewma"] is not None else (r["acwr_reason"] or "-")
        ramp = _num(r["ramp_pct"], 0, " %") if r["ramp_pct"] is not None else (r["ramp_reason"] or "-")
        run = r["last_run"]
        run_text = "-" if run is None else (f"{run['local_date']} {_num(run['distance_km'], 1, ' km')} "
                                            f"({run['spike_band'] or run['spike_reason'] or '-'})")
        sym = r["symptoms"]
        sym_text = "-" if not sym["active"] else f"{sym['active']} (max {sym['max_severity']})"
        last = r["last_alert"]
        last_text = "-" if last is None else f"{last['rule']} {last['severity']} {last['local_date']}"
        table.append((r["athlete"], styled(level, LEVEL_STYLE[level]), _num(r["risk"]["score"], 0),
                      _num(r["distance_7d_km"]), ramp, acwr, run_text, sym_text, last_text,
                      "; ".join(r["risk"]["reasons"]) or "-"))
    print_table(columns, table)
    say(f"{plural(len(rows), 'athlete')} on {rows[0]['date'] if len({r['date'] for r in rows}) == 1 else 'their local today'}; "
        "risk levels and points: docs/club.md")
