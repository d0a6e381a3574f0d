"""`loadmon alerts` (list), `alerts evaluate`, `alerts deliver`, `alerts test`, `alerts ack`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from loadmon.cli.app import app, console, get_service, handled, lazy, parse_date, print_json, state  # noqa: F401
from loadmon.cli.render import Col, print_table, say, styled

alerting = lazy("loadmon.service.alerting")

alerts_app = typer.Typer(
    help="Alerts: list them (default), evaluate the rules, flush the outbox, send a test message.",
    invoke_without_command=True,
)
app.add_typer(alerts_app, name="alerts")

SEVERITY_STYLE = {"danger": "bold red", "warning": "yellow", "info": "cyan"}


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array (id, rule, severity, local_date, activity_id, message, notified, deliveries, ...).")] = False,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Show the newest N alerts (0 = all).")] = 50,
    since: Annotated[str | None, typer.Option("--since", help="Only alerts on or after this local date (YYYY-MM-DD).")] = None,
) -> None:
    """List stored alerts with their delivery state per channel (all athletes unless --athlete)."""
    if ctx.invoked_subcommand is not None:
        return
    with handled():
        svc = get_service()
        athlete = svc.athlete(state.athlete) if state.athlete else None
        items = alerting.list_alerts(svc, athlete, limit=limit or None, since=parse_date(since, "--since"))
        if json_out:
            print_json(items)
            return
        _print_alerts(items, title=f"{len(items)} alert(s)" + (f" of {athlete.name}" if athlete else ""))


def _delivery_text(item: dict[str, Any]) -> str:
    if not item["deliveries"]:
        return "no channel" if item["notified"] else "not sent"
    parts = []
    for d in item["deliveries"]:
        text = f"{d['channel']}: {d['state']}"
        if d["state"] in ("pending", "failed") and d["attempts"]:
            text += f" ({d['attempts']} attempt{'s' if d['attempts'] != 1 else ''})"
        parts.append(text)
    return ", ".join(parts)


def _message_text(item: dict[str, Any]) -> str:
    if item.get("state") == "withdrawn":
        return f"{item['message']}\n[{item.get('withdrawn_reason') or 'withdrawn'}]"
    if item.get("acknowledged_at"):
        return f"{item['message']}\n[acknowledged {item['acknowledged_at'][:16].replace('T', ' ')} UTC]"
    return item["message"]


def _print_alerts(items: list[dict[str, Any]], *, title: str) -> None:
    if not items:
        say("no alerts")
        return
    columns = [Col("id", "number"), Col("date", "date"), Col("athlete"), Col("rule"), Col("severity"),
               Col("message", multiline=True), Col("delivery")]
    rows = [(a["id"], a["local_date"], a["athlete"] or str(a["athlete_id"]), a["rule"],
             styled(a["severity"], SEVERITY_STYLE.get(a["severity"], "")), _message_text(a), _delivery_text(a))
            for a in items]
    print_table(columns, rows, title=title, show_lines=True)
    suppressed = [a for a in items if a["deliveries"] and all(d["state"] == "suppressed" for d in a["deliveries"])]
    if suppressed:
        say(f"{len(suppressed)} alert(s) recorded but not sent (older than the notify window, or cooldown); "
            "`--json` shows why")


@alerts_app.command("evaluate")
def alerts_evaluate(
    since: Annotated[str | None, typer.Option("--since", help="First local date to evaluate (default: the whole history).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts and the new alerts as JSON.")] = False,
) -> None:
    """Evaluate the alert rules now (all athletes unless --athlete) and print the new alerts; sends nothing."""
    with handled():
        svc = get_service()
        ids = [svc.athlete(state.athlete).id] if state.athlete else [a.id for a in svc.store.list_athletes()]
        counts = alerting.evaluate(svc, ids, since=parse_date(since, "--since"))
        new = alerting.list_alerts(svc, ids=counts.alert_ids) if counts.alert_ids else []
        if json_out:
            print_json({**counts.to_dict(), "alerts": new})
            return
        say(f"{counts.alerts_new} new alert(s): {counts.alerts_to_send} to send, "
            f"{counts.alerts_suppressed} older than the notify window (recorded, not sent), "
            f"{counts.alerts_cooldown} in a cooldown; "
            f"{counts.alerts_withdrawn} withdrawn, {counts.alerts_reinstated} reinstated")
        if new:
            _print_alerts(new, title="new alerts")
        if counts.alerts_to_send:
            say("run `loadmon alerts deliver` (or the daemon) to send them")


@alerts_app.command("deliver")
def alerts_deliver(
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="First put the deliveries that failed for good back in the outbox (after an outage "
                               "or a fixed channel setting), then send.")] = False,
) -> None:
    """Send the outbox deliveries that are due (retries failures with backoff); exit 1 when one failed for good."""
    with handled():
        svc = get_service()
        requeued = alerting.retry_failed(svc) if retry_failed else 0
        counts = alerting.deliver_due(svc)
        if json_out:
            print_json({**counts.to_dict(), "requeued": requeued})
        else:
            if retry_failed:
                say(f"{requeued} failed deliveries put back in the outbox")
            say(f"{counts.sent} sent, {counts.retry} to retry, {counts.postponed} postponed, {counts.failed} failed")
            for error in counts.errors:
                say(f"  {error}")
            if counts.failed:
                say("once the cause is fixed: `loadmon alerts deliver --retry-failed` sends them again")
        if counts.failed:
            raise typer.Exit(1)


@alerts_app.command("test")
def alerts_test(
    json_out: Annotated[bool, typer.Option("--json", help="Print one result per channel as JSON.")] = False,
) -> None:
    """Send a test message to every configured channel and report each result; exit 1 if any failed (or none is configured)."""
    with handled():
        svc = get_service()
        results = alerting.test_channels(svc)
        if json_out:
            print_json(results)
        elif not results:
            say("no alert channel is configured: set [alerts.email] enabled = true or [alerts] push_urls")
        for r in results if not json_out else ():
            if r["ok"]:
                say(f"{r['channel']}: ok")
            else:
                say(f"{r['channel']}: failed - {r['error']}", style="red")
        if not results or not all(r["ok"] for r in results):
            raise typer.Exit(1)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (`loadmon alerts`).", min=1)],
    athlete_name: Annotated[str | None, typer.Option("--athlete", help="Whose alert (default: the global --athlete, or the single athlete).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the acknowledged alert as JSON.")] = False,
) -> None:
    """Acknowledge an alert: it leaves the open alerts (acknowledging again keeps the first time)."""
    with handled():
        svc = get_service()
        athlete = svc.athlete(athlete_name or state.athlete)
        item = alerting.acknowledge_alert(svc, athlete, alert_id)
        if json_out:
            print_json(item)
            return
        say(f"alert {item['id']} of {athlete.name} acknowledged at {item['acknowledged_at'][:16].replace('T', ' ')} UTC")
