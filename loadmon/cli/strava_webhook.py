"""`loadmon strava webhook subscribe|status|unsubscribe`: Strava push subscriptions (docs/strava.md, Webhooks).

Exit codes: 0 ok, 1 Strava refused or could not be reached, 2 configuration (the verify token,
the client id/secret or ``[web] public_url`` missing). The verify token is never printed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from loadmon.cli.app import get_service, handled, lazy, print_json
from loadmon.cli.render import say
from loadmon.cli.strava import strava_app

webhooks = lazy("loadmon.service.strava.webhooks")

webhook_app = typer.Typer(
    help="Strava webhooks (push subscriptions): new runs arrive within seconds; the poll interval relaxes.",
    no_args_is_help=True,
)
strava_app.add_typer(webhook_app, name="webhook")


@webhook_app.command("subscribe")
def subscribe_cmd(
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="Where Strava sends events (default: [web] public_url + /strava/webhook).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create the push subscription (Strava validates the callback first: the web app must be reachable there)."""
    with handled():
        result = webhooks.subscribe(get_service(), callback_url=callback_url)
        if json_out:
            print_json(result.to_dict())
            return
        what = "subscribed" if result.created else "already subscribed"
        say(f"{what}: subscription {result.subscription_id}, events to {result.callback_url}")


@webhook_app.command("status")
def status_cmd(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The stored subscription, what Strava lists for this application, and the recorded events."""
    with handled():
        info = webhooks.webhook_status(get_service()).to_dict()
        if json_out:
            print_json(info)
            return
        if not info["verify_token_configured"]:
            say("webhooks off: strava.webhook_verify_token is not set")
        if info["subscription_id"] is None:
            say("not subscribed (run `loadmon strava webhook subscribe`)")
        else:
            say(f"subscription {info['subscription_id']} since {info['subscribed_at']}: events to {info['callback_url']}")
            say(f"  polling every {info['poll_minutes_with_webhook']} min while active; nightly reconciliation unchanged")
        if info["remote_error"]:
            say(f"  Strava could not be asked: {info['remote_error']}")
        elif info["remote"] is not None:
            listed = ", ".join(f"{s['id']} -> {s['callback_url']}" for s in info["remote"]) or "none"
            say(f"  Strava lists: {listed}")
        events = info["events"]
        say("  events: " + (", ".join(f"{k} {v}" for k, v in sorted(events.items())) or "none recorded"))


@webhook_app.command("unsubscribe")
def unsubscribe_cmd(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Delete the push subscription on Strava and forget it (polling returns to [daemon] sync_interval_minutes)."""
    with handled():
        result = webhooks.unsubscribe(get_service())
        if json_out:
            print_json(result.to_dict())
        else:
            deleted = ", ".join(str(i) for i in result.deleted) or "none"
            say(f"unsubscribed: deleted on Strava: {deleted}")
        if result.remote_error:
            say(("warning:", "yellow"), " ", result.remote_error, err=True)
            raise typer.Exit(1)
