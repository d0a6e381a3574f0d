"""`loadmon plan check`: the pre-run check of a planned run, and the day's limits."""

from __future__ import annotations

from typing import Annotated

import typer

from loadmon.cli.app import app, get_service, handled, lazy, parse_date, print_json, state
from loadmon.cli.render import say

plan_service = lazy("loadmon.service.plan")

plan_app = typer.Typer(help="Check a planned run before you go: the rules as if it happened, and today's limits.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")

_VERDICT_STYLE = {"ok": "green", "caution": "yellow", "danger": "bold red"}


@plan_app.command("check")
def plan_check(
    distance_km: Annotated[float, typer.Option("--distance-km", help="The planned distance in km.")],
    descent_m: Annotated[float | None, typer.Option("--descent-m", help="The planned descent in m (if known).")] = None,
    day: Annotated[str | None, typer.Option("--date", help="The day of the run (YYYY-MM-DD, athlete-local; default today).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (date, planned, verdict, limits, findings).")] = False,
) -> None:
    """Would this run raise an alert? ok | caution | danger, each finding with its numbers, and the day's limits. Nothing is stored."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        result = plan_service.check(svc, athlete, distance_km=distance_km, descent_m=descent_m, day=parse_date(day, "--date"))
        data = plan_service.plan_json(result)
        if json_out:
            print_json(data)
            return
        planned = data["planned"]
        descent = f", {planned['descent_m']:.0f} m of descent" if planned["descent_m"] is not None else ""
        say(
            f"planned run on {data['date']}: {planned['distance_km']:g} km{descent} -> ",
            (data["verdict"].upper(), _VERDICT_STYLE[data["verdict"]]),
        )
        for f in data["findings"]:
            say(
                (f"{f['severity']:<8}", _VERDICT_STYLE["danger" if f["severity"] == "danger" else "caution"]),
                f" {f['rule']}: {f['message']}",
            )
        lim = data["limits"]
        dist = f"{lim['max_distance_km']:g} km" if lim["max_distance_km"] is not None else "-"
        desc = f"{lim['max_descent_m']:.0f} m" if lim["max_descent_m"] is not None else "-"
        say(
            f"limits for {data['date']}: distance up to {dist} ({lim['max_distance_reason']}); "
            f"descent up to {desc} ({lim['max_descent_reason']})"
        )
        if lim["rest"]:
            say(("rest today", "bold red"), f": {lim['comeback']}")
        say("nothing was stored (a check only)")
