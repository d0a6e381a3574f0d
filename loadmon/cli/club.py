"""`loadmon club status`: every athlete of the database on one screen (coaches and clubs)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from loadmon.cli.app import app, console, get_service, handled, parse_date, print_json
from loadmon.service import club as club_service

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
        console.print("no athletes yet (loadmon athlete add NAME)")
        return
    table = Table(show_header=True)
    for col in ("athlete", "risk", "score", "7 d km", "ramp", "ACWR EWMA", "last run (spike band)", "symptoms",
                "last alert", "why"):
        table.add_column(col, justify="right" if col in ("score", "7 d km", "ramp") else "left")
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
        table.add_row(r["athlete"], f"[{LEVEL_STYLE[level]}]{level}[/]", _num(r["risk"]["score"], 0),
                      _num(r["distance_7d_km"]), ramp, acwr, run_text, sym_text, last_text,
                      "; ".join(r["risk"]["reasons"]) or "-")
    console.print(table)
    console.print(f"{len(rows)} athletes on {rows[0]['date'] if len({r['date'] for r in rows}) == 1 else 'their local today'}; "
                  "risk levels and points: docs/club.md", highlight=False)
