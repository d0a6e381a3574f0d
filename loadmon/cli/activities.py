"""`loadmon activities exclude | include`: take an activity out of the load, or count it again."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from loadmon.cli.app import get_service, handled, lazy, print_json, state
from loadmon.cli.core import activities_app
from loadmon.cli.render import say

activity_service = lazy("loadmon.service.activities")
alerting = lazy("loadmon.service.alerting")
after_store = lazy("loadmon.service.after_store")

_ID_HELP = "The activity id (see `loadmon activities`)."
_JSON_HELP = "Print the activity and the alert counts as JSON."
_NO_ALERTS_HELP = "Do not re-evaluate the alert rules afterwards."


@activities_app.command("exclude")
def activities_exclude(
    activity_id: Annotated[int, typer.Argument(help=_ID_HELP)],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, e.g. 'GPS glitch' or 'not my run'.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help=_NO_ALERTS_HELP)] = False,
) -> None:
    """Keep an activity but stop counting it in the load; alerts that no longer hold are withdrawn."""
    _change(activity_id, exclude=True, reason=reason, json_out=json_out, no_alerts=no_alerts)


@activities_app.command("include")
def activities_include(
    activity_id: Annotated[int, typer.Argument(help=_ID_HELP)],
    json_out: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help=_NO_ALERTS_HELP)] = False,
) -> None:
    """Count an excluded activity again (alerts it trips are raised, withdrawn ones reinstated)."""
    _change(activity_id, exclude=False, reason=None, json_out=json_out, no_alerts=no_alerts)


def _change(activity_id: int, *, exclude: bool, reason: str | None, json_out: bool, no_alerts: bool) -> None:
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        before = activity_service.is_excluded(svc, athlete, activity_id)
        if exclude:
            activity = activity_service.exclude_activity(svc, athlete, activity_id, reason=reason)
        else:
            activity = activity_service.include_activity(svc, athlete, activity_id)
        if before is exclude:  # nothing to change: say so, not "was excluded" / "was included again"
            what = f"activity {activity_id} was {'already excluded' if exclude else 'not excluded'}"
        else:
            what = f"activity {activity_id} was {'excluded' if exclude else 'included again'}"
        data = activity_service.activity_summary(svc, athlete, activity)
        after = None if no_alerts else after_store.after_change(svc, [athlete.id], reason=what)
        if json_out:
            print_json({"activity": data, "alerts": after.to_dict() if after else {}})
            return
        if activity.excluded:
            say(f"{what}: not counted in the load")
        elif data["counted_instead"] is None:
            say(f"{what}: counted in the load")
        else:  # a copy of a run that another copy counts for: not "counted in the load" itself
            say(f"{what}: its run is counted once, through the copy that counts for it")
        if data["counted_instead"] is not None:
            say(f"activity {data['counted_instead']} ({data['counted_instead_source']}), a copy of the same "
                "run, counts for it" + (" (exclude it too to drop the run)" if activity.excluded else ""))
        print_alert_changes(after)


def print_alert_changes(after: Any) -> None:
    """One line on what the re-evaluation did (new, withdrawn, reinstated alerts; messages per channel);
    ``after``: the :class:`~loadmon.service.alert_counts.AlertCounts` of ``after_change``, or None."""
    if after is not None and after.changed:
        say(f"{alerting.summary_line(after)} (see `loadmon alerts`)")
