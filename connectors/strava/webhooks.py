"""Strava push subscriptions (webhooks) through stravalib: create, list and delete the
application's subscription, answer the callback validation, read an event.

Nothing here touches the database. The subscription calls authenticate with the application's
client id and secret (never an athlete's token) and cost no athlete request budget. Errors
become :class:`~loadmon.errors.StravaError` naming the call and the HTTP status, never the
secret or the verify token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests

from connectors.strava.client import describe_fault, new_client
from loadmon.errors import StravaError, StravaMalformedError

__all__ = [
    "Subscription",
    "WebhookEvent",
    "challenge_response",
    "create_subscription",
    "delete_subscription",
    "list_subscriptions",
    "parse_event",
    "warm_up",
]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscription:
    """The application's push subscription as Strava describes it."""

    id: int
    callback_url: str | None
    created_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookEvent:
    """One event POSTed by Strava (a hint: it carries no activity data and is not signed)."""

    subscription_id: int
    owner_id: int
    object_type: str  # activity | athlete
    object_id: int
    aspect_type: str  # create | update | delete
    event_time: datetime
    updates: dict[str, Any] = field(default_factory=dict)

    @property
    def deauthorization(self) -> bool:
        """The athlete revoked loadmon's access (``updates: {"authorized": "false"}``)."""
        return self.object_type == "athlete" and str(self.updates.get("authorized", "")).lower() == "false"


def _call(what: str, fn: Callable[[], T]) -> T:
    from stravalib import exc

    try:
        return fn()
    except exc.Fault as e:
        raise StravaError(f"Strava refused {what}: {describe_fault(e.response)}") from None
    except requests.RequestException as e:
        raise StravaError(f"Strava {what} failed: {type(e).__name__}") from None
    except (ValueError, TypeError, AttributeError) as e:
        raise StravaMalformedError(f"Strava {what}: unexpected response shape ({type(e).__name__})") from None


def _subscription(raw: Any) -> Subscription:
    if raw.id is None:
        raise StravaMalformedError("Strava push subscription without an id")
    created = raw.created_at
    return Subscription(id=int(raw.id), callback_url=raw.callback_url, created_at=created.astimezone(UTC) if created else None)


def create_subscription(
    session: requests.Session, *, client_id: int | str, client_secret: str, callback_url: str, verify_token: str
) -> Subscription:
    """``POST /push_subscriptions``: Strava first validates ``callback_url`` (a GET carrying
    ``hub.challenge`` and ``verify_token``), then answers with the new subscription's id."""
    client = new_client(session)
    return _call(
        "creating the push subscription",
        lambda: _subscription(
            client.create_subscription(int(client_id), client_secret, callback_url=callback_url, verify_token=verify_token)
        ),
    )


def list_subscriptions(session: requests.Session, *, client_id: int | str, client_secret: str) -> list[Subscription]:
    """``GET /push_subscriptions`` (at most one per application)."""
    client = new_client(session)
    return _call(
        "listing the push subscriptions",
        lambda: [_subscription(s) for s in client.list_subscriptions(int(client_id), client_secret)],
    )


def delete_subscription(session: requests.Session, *, client_id: int | str, client_secret: str, subscription_id: int) -> None:
    """``DELETE /push_subscriptions/{id}``."""
    client = new_client(session)
    _call(
        f"deleting push subscription {subscription_id}",
        lambda: client.delete_subscription(int(subscription_id), int(client_id), client_secret),
    )


@functools.cache
def _local_client() -> Any:
    """A stravalib client that never sends a request (it only reads callbacks and events)."""
    return new_client(requests.Session())


def warm_up() -> None:
    """Import stravalib now (about 0.5 s), not while Strava waits at most 2 s for an answer."""
    _local_client()


def challenge_response(params: dict[str, str], verify_token: str) -> dict[str, str] | None:
    """The answer to Strava's validation GET (``{"hub.challenge": ...}``), or ``None`` when the
    verify token is wrong or missing (answer 403 then)."""
    if not verify_token or not params.get("hub.challenge"):
        return None
    try:
        return _local_client().handle_subscription_callback(params, verify_token=verify_token)
    except (AssertionError, ValueError):
        return None


def parse_event(raw: Any) -> WebhookEvent:
    """An event body read by stravalib (``handle_subscription_update``); a body that is not an
    event is :class:`StravaMalformedError`."""
    if not isinstance(raw, dict):
        raise StravaMalformedError("Strava event: expected a JSON object")
    try:
        upd = _local_client().handle_subscription_update(raw)
    except ValueError as e:
        raise StravaMalformedError(f"Strava event: unreadable ({type(e).__name__})") from None
    missing = [
        n for n in ("subscription_id", "owner_id", "object_id", "object_type", "aspect_type", "event_time") if getattr(upd, n) is None
    ]
    if missing:
        raise StravaMalformedError(f"Strava event: missing {', '.join(missing)}")
    assert upd.event_time is not None
    when = upd.event_time if upd.event_time.tzinfo else upd.event_time.replace(tzinfo=UTC)
    return WebhookEvent(
        subscription_id=int(upd.subscription_id or 0),
        owner_id=int(upd.owner_id or 0),
        object_type=str(upd.object_type)[:16],
        object_id=int(upd.object_id or 0),
        aspect_type=str(upd.aspect_type)[:16],
        event_time=when.astimezone(UTC),
        updates={str(k)[:64]: str(v)[:500] for k, v in (upd.updates or {}).items()},
    )
