"""Strava push subscriptions (webhooks): subscribe, status and unsubscribe (the CLI), and what the
web app does with Strava's requests: answer the validation GET, record an event POST.

Events are hints, not facts: they are unsigned. An event is recorded only when it names the
subscription loadmon created (stored by :func:`subscribe`) and its owner is a connected
athlete's Strava id; anything else is dropped at once and never costs an API request. Recording
is all the web app does (one insert; Strava wants a 200 within 2 s); the ``strava_events`` job
(:mod:`loadmon.service.strava.events`) reads the activity from the API and stores it. The verify
token and the client secret never appear in a log line, an error or a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.strava.webhooks import (
    challenge_response,
    create_subscription,
    delete_subscription,
    list_subscriptions,
    parse_event,
    warm_up,
)
from loadmon.errors import ConfigError, LoadmonError, StravaMalformedError, ValidationError
from loadmon.service import wakeups
from loadmon.service.context import Service
from loadmon.service.jobrunner import JOB_STRAVA_EVENTS
from loadmon.service.strava.common import BACKFILL_KEY, LAST_SYNC_KEY, iso, log, parse_iso, session_for
from loadmon.service.strava.credentials import credentials

__all__ = [
    "WEBHOOK_PATH",
    "Received",
    "SubscribeResult",
    "UnsubscribeResult",
    "WebhookStatus",
    "answer_challenge",
    "callback_url_for",
    "poll_skip_reason",
    "receive_event",
    "subscribe",
    "unsubscribe",
    "warm_up",
    "webhook_active",
    "webhook_status",
]

WEBHOOK_PATH = "/strava/webhook"


@dataclass(frozen=True, kw_only=True, slots=True)
class SubscribeResult:
    subscription_id: int
    callback_url: str
    created: bool  # False: Strava already had this subscription (adopted)

    def to_dict(self) -> dict[str, Any]:
        return {"subscription_id": self.subscription_id, "callback_url": self.callback_url, "created": self.created}


@dataclass(frozen=True, kw_only=True, slots=True)
class UnsubscribeResult:
    deleted: tuple[int, ...]  # subscription ids deleted on Strava
    forgotten: bool  # the stored subscription was removed here
    remote_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": list(self.deleted), "forgotten": self.forgotten, "remote_error": self.remote_error}


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookStatus:
    """``loadmon strava webhook status`` (never the verify token)."""

    verify_token_configured: bool
    callback_url: str | None  # where events are expected ([web] public_url + /strava/webhook)
    subscription_id: int | None  # the one loadmon created
    subscribed_at: datetime | None
    remote: tuple[dict[str, Any], ...] | None  # what Strava lists (None: not asked, or it failed)
    remote_error: str | None
    events: dict[str, int]  # recorded events by state
    poll_minutes: int  # the sync interval while active

    @property
    def active(self) -> bool:
        return self.verify_token_configured and self.subscription_id is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "verify_token_configured": self.verify_token_configured,
            "callback_url": self.callback_url,
            "subscription_id": self.subscription_id,
            "subscribed_at": iso(self.subscribed_at),
            "remote": list(self.remote) if self.remote is not None else None,
            "remote_error": self.remote_error,
            "events": self.events,
            "poll_minutes_with_webhook": self.poll_minutes,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Received:
    """What :func:`receive_event` did with one POST."""

    recorded: bool  # a new event to process
    reason: str  # recorded | duplicate | unknown subscription | unknown owner | webhooks off | malformed
    malformed: bool = False


def _verify_token(svc: Service) -> str:
    token = svc.config.strava.webhook_verify_token.strip()
    if not token:
        raise ConfigError(
            "Strava webhooks need a verify token: set strava.webhook_verify_token (or LOADMON_STRAVA__WEBHOOK_VERIFY_TOKEN), "
            "any random text, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(24))'`",
            key="strava.webhook_verify_token",
        )
    return token


def callback_url_for(svc: Service, override: str | None = None) -> str:
    """``override``, else ``[web] public_url`` + ``/strava/webhook``; a ConfigError naming
    ``web.public_url`` when neither is set."""
    url = (override or "").strip()
    if not url:
        base = svc.config.web.public_url.strip().rstrip("/")
        if not base:
            raise ConfigError(
                "the webhook callback URL is unknown: set web.public_url (the public https address of the web app) or pass --callback-url",
                key="web.public_url",
            )
        url = base + WEBHOOK_PATH
    if not url.lower().startswith(("https://", "http://")):
        raise ValidationError(f"--callback-url: {url!r} is not an http(s) URL")
    return url


def subscribe(svc: Service, *, callback_url: str | None = None) -> SubscribeResult:
    """Create the application's push subscription to ``callback_url`` and remember its id.

    Strava validates the callback before it answers (a GET with ``hub.challenge`` that the web
    app must answer within 2 s), so the web app must be reachable there. A subscription that
    Strava already has for this URL is adopted; one for another URL is a ValidationError
    (Strava allows one per application: ``unsubscribe`` first)."""
    client_id, secret = credentials(svc.config)
    token = _verify_token(svc)
    url = callback_url_for(svc, callback_url)
    session = session_for(svc)
    try:
        existing = list_subscriptions(session, client_id=client_id, client_secret=secret)
        same = [s for s in existing if (s.callback_url or "").rstrip("/") == url.rstrip("/")]
        if same:
            sub, created = same[0], False
        elif existing:
            raise ValidationError(
                f"Strava already has a push subscription for this application (id {existing[0].id}, callback "
                f"{existing[0].callback_url}): run `loadmon strava webhook unsubscribe` first"
            )
        else:
            sub = create_subscription(session, client_id=client_id, client_secret=secret, callback_url=url, verify_token=token)
            created = True
    finally:
        session.close()
    svc.store.save_strava_subscription(sub.id, url)
    log.info("strava.webhook.subscribed", subscription_id=sub.id, callback_url=url, created=created)
    return SubscribeResult(subscription_id=sub.id, callback_url=url, created=created)


def unsubscribe(svc: Service) -> UnsubscribeResult:
    """Delete the push subscription on Strava (the stored one, or every one Strava lists for this
    application when none is stored) and forget it here, even when Strava cannot be reached."""
    client_id, secret = credentials(svc.config)
    stored = svc.store.strava_subscription()
    deleted: list[int] = []
    error: str | None = None
    session = session_for(svc)
    try:
        ids = [stored.id] if stored is not None else [s.id for s in list_subscriptions(session, client_id=client_id, client_secret=secret)]
        for sid in ids:
            delete_subscription(session, client_id=client_id, client_secret=secret, subscription_id=sid)
            deleted.append(sid)
    except LoadmonError as exc:
        error = f"{exc} (forgotten here all the same: events naming it are ignored)"
    finally:
        session.close()
    forgotten = svc.store.delete_strava_subscription() > 0
    log.info("strava.webhook.unsubscribed", deleted=deleted, forgotten=forgotten, remote_ok=error is None)
    return UnsubscribeResult(deleted=tuple(deleted), forgotten=forgotten, remote_error=error)


def webhook_status(svc: Service, *, remote: bool = True) -> WebhookStatus:
    """The stored subscription, what Strava lists (``remote``) and the recorded events."""
    stored = svc.store.strava_subscription()
    listed: tuple[dict[str, Any], ...] | None = None
    error: str | None = None
    if remote:
        try:
            client_id, secret = credentials(svc.config)
            session = session_for(svc)
            try:
                subs = list_subscriptions(session, client_id=client_id, client_secret=secret)
            finally:
                session.close()
            listed = tuple({"id": s.id, "callback_url": s.callback_url, "created_at": iso(s.created_at)} for s in subs)
        except LoadmonError as exc:
            error = str(exc)
    try:
        expected: str | None = stored.callback_url if stored is not None else callback_url_for(svc)
    except LoadmonError:
        expected = None
    return WebhookStatus(
        verify_token_configured=bool(svc.config.strava.webhook_verify_token.strip()),
        callback_url=expected,
        subscription_id=stored.id if stored is not None else None,
        subscribed_at=stored.created_at if stored is not None else None,
        remote=listed,
        remote_error=error,
        events=svc.store.strava_event_counts(),
        poll_minutes=svc.config.strava.poll_minutes_with_webhook,
    )


def webhook_active(svc: Service) -> bool:
    """A verify token is configured and a subscription was created: events arrive."""
    return bool(svc.config.strava.webhook_verify_token.strip()) and svc.store.strava_subscription() is not None


def poll_skip_reason(svc: Service, athlete_id: int) -> str | None:
    """Why the scheduled sync of this athlete waits (an active subscription relaxes polling to
    ``[strava] poll_minutes_with_webhook``), or None when it is due. An unfinished backfill is never held back."""
    if not webhook_active(svc):
        return None
    backfill = svc.store.get_state(athlete_id, BACKFILL_KEY)
    if backfill is not None and not backfill.get("done"):
        return None
    last = parse_iso((svc.store.get_state(athlete_id, LAST_SYNC_KEY) or {}).get("at"))
    if last is None:
        return None
    due = last + timedelta(minutes=svc.config.strava.poll_minutes_with_webhook)
    if svc.clock() >= due:
        return None
    return f"a Strava push subscription is active: the next poll is due at {iso(due)} (strava.poll_minutes_with_webhook)"


# ------------------------------------------------------------------------------ web app side
def answer_challenge(svc: Service, params: dict[str, str]) -> dict[str, str] | None:
    """``{"hub.challenge": ...}`` for Strava's validation GET; None (answer 403) on a wrong or
    missing verify token, or when webhooks are off."""
    token = svc.config.strava.webhook_verify_token.strip()
    if params.get("hub.mode", "subscribe") != "subscribe":
        return None
    answer = challenge_response(params, token)
    log.info("strava.webhook.validation", accepted=answer is not None)
    return answer


def receive_event(svc: Service, raw: Any) -> Received:
    """Record one event POST when it names our subscription and a connected athlete; nothing
    else is done here (no API request). A new event wakes the ``strava_events`` job."""
    try:
        event = parse_event(raw)
    except StravaMalformedError as exc:
        log.warning("strava.webhook.malformed", error=str(exc))
        return Received(recorded=False, reason="malformed", malformed=True)
    fields = {"object_type": event.object_type, "object_id": event.object_id, "aspect_type": event.aspect_type}
    if not svc.config.strava.webhook_verify_token.strip():
        return _rejected("webhooks off", event.subscription_id, fields)
    stored = svc.store.strava_subscription()
    if stored is None or stored.id != event.subscription_id:
        return _rejected("unknown subscription", event.subscription_id, fields)
    if svc.store.athlete_for_strava_id(event.owner_id) is None or (event.object_type == "athlete" and event.object_id != event.owner_id):
        return _rejected("unknown owner", event.subscription_id, fields)
    if event.object_type not in ("activity", "athlete"):
        return _rejected("unknown object type", event.subscription_id, fields)
    recorded = svc.store.record_strava_event(
        subscription_id=event.subscription_id,
        owner_id=event.owner_id,
        object_type=event.object_type,
        object_id=event.object_id,
        aspect_type=event.aspect_type,
        event_time=event.event_time,
        updates=dict(event.updates),
        now=svc.clock(),
    )
    log.info("strava.webhook.event", recorded=recorded, owner_id=event.owner_id, event_time=iso(event.event_time), **fields)
    if recorded:
        wakeups.wake(JOB_STRAVA_EVENTS)
    return Received(recorded=recorded, reason="recorded" if recorded else "duplicate")


def _rejected(reason: str, subscription_id: int, fields: dict[str, Any]) -> Received:
    log.warning("strava.webhook.rejected", reason=reason, subscription_id=subscription_id, **fields)
    return Received(recorded=False, reason=reason)
