"""`loadmon symptom add | list | update | resolve | edit | delete`: the symptom log."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from loadmon.cli.activities import print_alert_changes
from loadmon.cli.app import app, console, get_service, handled, lazy, parse_when, print_json, state  # noqa: F401
from loadmon.cli.render import Col, print_table, say
from loadmon.domain import SYMPTOM_SIDES, SYMPTOM_SITES

alerting = lazy("loadmon.service.alerting")
after_store = lazy("loadmon.service.after_store")
symptom_service = lazy("loadmon.service.symptoms")

symptom_app = typer.Typer(
    help="Log symptoms (site, side, severity 0-10); an unresolved lower-limb symptom makes hilly runs alert.",
    no_args_is_help=True,
)
app.add_typer(symptom_app, name="symptom")


@symptom_app.command("add")
def symptom_add(
    site: Annotated[str, typer.Option("--site", help=f"Where: {', '.join(SYMPTOM_SITES)}.")],
    severity: Annotated[int, typer.Option("--severity", help="How bad, 0 (nothing) to 10 (worst).")],
    side: Annotated[str, typer.Option("--side", help=f"{', '.join(SYMPTOM_SIDES)}.")] = "none",
    location: Annotated[str | None, typer.Option("--location", help="Free text, e.g. lateral, medial, front.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When it started, athlete-local 'YYYY-MM-DD HH:MM' (default now).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free-text note.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the symptom (and the alert counts) as JSON.")] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Do not evaluate the alert rules afterwards.")] = False,
) -> None:
    """Log a symptom, e.g. --site knee --side right --location lateral --severity 4. Then evaluates the rules."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        when = parse_when(at, "--at", athlete.timezone)
        symptom = symptom_service.add_symptom(svc, athlete, site, side, location, severity, when, note)
        after = None if no_alerts else after_store.after_change(svc, [athlete.id])
        data = symptom_service.symptom_json(symptom, athlete.timezone)
        if json_out:
            print_json({"symptom": data, "alerts": after.to_dict() if after else {}})
            return
        say(f"logged symptom {symptom.id}: {_describe(data)}")
        if after is not None and after.alerts_new:
            say(f"{alerting.summary_line(after)} (see `loadmon alerts`)")


@symptom_app.command("list")
def symptom_list(
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    active: Annotated[bool, typer.Option("--active", help="Only symptoms that are not resolved.")] = False,
) -> None:
    """List logged symptoms (times in the athlete's zone)."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        items = [symptom_service.symptom_json(s, athlete.timezone) for s in symptom_service.list_symptoms(svc, athlete)]
        if active:
            items = [s for s in items if s["active"]]
        if json_out:
            print_json(items)
            return
        columns = [Col("id", "number"), Col("started", "date"), Col("site"), Col("side"), Col("location"),
                   Col("severity", "number"), Col("resolved", "date"), Col("note", multiline=True)]
        rows = [(s["id"], s["started_at"][:16].replace("T", " "), s["site"], s["side"], s["location"] or "-",
                 s["severity"], (s["resolved_at"] or "-")[:16].replace("T", " "), s["note"] or "") for s in items]
        print_table(columns, rows, title=f"{len(items)} symptom(s) of {athlete.name}")


@symptom_app.command("resolve")
def symptom_resolve(
    symptom_id: Annotated[int, typer.Argument(help="The symptom id (see `loadmon symptom list`).")],
    at: Annotated[str | None, typer.Option("--at", help="When it resolved, athlete-local 'YYYY-MM-DD HH:MM' (default now).")] = None,
) -> None:
    """Mark a symptom resolved (from then on it no longer makes hilly runs alert)."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        symptom = symptom_service.resolve_symptom(svc, athlete, symptom_id, parse_when(at, "--at", athlete.timezone))
        resolved = symptom.resolved_at.astimezone(ZoneInfo(athlete.timezone)).isoformat(timespec="minutes")
        say(f"symptom {symptom.id} resolved at {resolved}")


@symptom_app.command("update")
def symptom_update(
    symptom_id: Annotated[int, typer.Argument(help="The symptom id (see `loadmon symptom list`).")],
    severity: Annotated[int, typer.Option("--severity", help="How it feels now, 0 (nothing) to 10 (worst).")],
    at: Annotated[str | None, typer.Option("--at", help="When, athlete-local 'YYYY-MM-DD HH:MM' (default now).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free-text note.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the symptom (and the alert counts) as JSON.")] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Do not re-evaluate the alert rules afterwards.")] = False,
) -> None:
    """Record how a symptom feels now (a check-in): its severity history drives the comeback rules."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        symptom = symptom_service.update_severity(svc, athlete, symptom_id, severity,
                                                  parse_when(at, "--at", athlete.timezone), note)
        after = None if no_alerts else after_store.after_change(svc, [athlete.id])
        data = symptom_service.symptom_json(symptom, athlete.timezone)
        if json_out:
            print_json({"symptom": data, "alerts": after.to_dict() if after else {}})
            return
        history = " -> ".join(str(v) for v in [data["severity"], *(u["severity"] for u in data["updates"])])
        say(f"symptom {symptom.id}: severity now {data['severity_now']}/10 (history {history})")
        print_alert_changes(after)


@symptom_app.command("edit")
def symptom_edit(
    symptom_id: Annotated[int, typer.Argument(help="The symptom id (see `loadmon symptom list`).")],
    site: Annotated[str | None, typer.Option("--site", help=f"Where: {', '.join(SYMPTOM_SITES)}.")] = None,
    side: Annotated[str | None, typer.Option("--side", help=f"{', '.join(SYMPTOM_SIDES)}.")] = None,
    location: Annotated[str | None, typer.Option("--location", help="Free text ('' clears it).")] = None,
    severity: Annotated[int | None, typer.Option("--severity", help="How bad, 0 (nothing) to 10 (worst).")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When it started, athlete-local 'YYYY-MM-DD HH:MM'.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free-text note ('' clears it).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the symptom (and the alert counts) as JSON.")] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Do not re-evaluate the alert rules afterwards.")] = False,
) -> None:
    """Correct a wrongly logged symptom (only the options given change); alerts that no longer hold are withdrawn."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        given = {"site": site, "side": side, "location": location, "severity": severity, "note": note}
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if at is not None:
            changes["at"] = parse_when(at, "--at", athlete.timezone)
        symptom = symptom_service.edit_symptom(svc, athlete, symptom_id, **changes)
        after = None if no_alerts else after_store.after_change(svc, [athlete.id],
                                                                reason=f"symptom {symptom_id} was edited")
        data = symptom_service.symptom_json(symptom, athlete.timezone)
        if json_out:
            print_json({"symptom": data, "alerts": after.to_dict() if after else {}})
            return
        say(f"symptom {symptom.id} is now: {_describe(data)}")
        print_alert_changes(after)


@symptom_app.command("delete")
def symptom_delete(
    symptom_id: Annotated[int, typer.Argument(help="The symptom id (see `loadmon symptom list`).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the deleted symptom (and the alert counts) as JSON.")] = False,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Do not re-evaluate the alert rules afterwards.")] = False,
) -> None:
    """Delete a symptom logged by mistake; alerts that depended on it are withdrawn."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete)
        symptom = symptom_service.delete_symptom(svc, athlete, symptom_id)
        after = None if no_alerts else after_store.after_change(svc, [athlete.id],
                                                                reason=f"symptom {symptom_id} was deleted")
        data = symptom_service.symptom_json(symptom, athlete.timezone)
        if json_out:
            print_json({"deleted": data, "alerts": after.to_dict() if after else {}})
            return
        say(f"deleted symptom {symptom.id} ({_describe(data)})")
        print_alert_changes(after)


def _describe(s: dict) -> str:
    side = f"{s['side']} " if s["side"] in ("left", "right") else ""
    where = f" ({s['location']})" if s["location"] else ""
    return f"{side}{s['site']}{where}, severity {s['severity']}/10, since {s['started_at'][:16].replace('T', ' ')}"
