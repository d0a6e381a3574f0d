"""`loadmon intervals sync`: activities from intervals.icu (docs/intervals.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from loadmon.cli.app import app, fail, get_service, handled, lazy, parse_date, print_json, state
from loadmon.cli.render import say

intervals_service = lazy("loadmon.service.intervals")
after_store = lazy("loadmon.service.after_store")

intervals_app = typer.Typer(
    help="intervals.icu: download your activities' files (Garmin, COROS, Suunto, Wahoo, Polar).", no_args_is_help=True
)
app.add_typer(intervals_app, name="intervals")


@intervals_app.command("sync")
def intervals_sync(
    since: Annotated[
        str | None, typer.Option("--since", help="First day to read (YYYY-MM-DD; default: where the last sync stopped).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Do not evaluate the alert rules afterwards.")] = False,
) -> None:
    """Download new activities from intervals.icu, incremental and resumable; the same run from another source counts once."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        result = intervals_service.sync(svc, athlete, since=parse_date(since, "--since"))
        after = None if no_alerts or not result.activity_ids else after_store.after_change(svc, [athlete.id])
        data = result.to_dict() | {"alerts": after.to_dict() if after else {}}
        if json_out:
            print_json(data)
        else:
            say(
                f"intervals.icu for {athlete.name} since {data['oldest']}: {data['listed']} listed, {data['imported']} "
                f"imported, {data['duplicate']} duplicate, {data['already_done']} already done, {data['skipped']} "
                f"skipped, {data['strava_only']} from Strava (left to `loadmon sync`), {data['failed']} failed; "
                f"{data['requests']} requests"
            )
            for f in data["failures"]:
                say("  ", ("failed", "red"), f" {f['activity']}: {f['reason']}", err=True)
        if result.stopped:
            fail(f"stopped before the end (run it again to go on): {result.stopped}", 1)
        if result.failed:
            raise typer.Exit(1)
