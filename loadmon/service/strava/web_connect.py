"""Connecting Strava from the web app: the authorisation URL with the redirect to
``[web] public_url`` + ``/strava/callback``, the callback's checks (state, refusal, scope) before
the code exchange of :func:`loadmon.service.strava.oauth.complete_connect`, and a disconnect that
also deletes the athlete's Strava-sourced activities (Strava's API Agreement; their FIT-sourced
ones stay). The state lives in the caller's signed session; nothing here logs it or a token."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.strava.tokens import ACTIVITY_SCOPES
from loadmon.config import Config
from loadmon.domain import Athlete
from loadmon.errors import ConfigError, StravaAuthError, StravaAuthReason, ValidationError
from loadmon.service.context import Service
from loadmon.service.strava.common import BACKFILL_KEY, LAST_SYNC_KEY, RECHECK_KEY, SOURCE, log
from loadmon.service.strava.credentials import credentials
from loadmon.service.strava.oauth import ConnectResult, complete_connect, connect_url, disconnect, new_oauth_state
from loadmon.service.strava.records import DisconnectResult

__all__ = [
    "CALLBACK_PATH",
    "WebConnectStart",
    "WebDisconnectResult",
    "callback_url",
    "connect_problem",
    "disconnect_and_forget",
    "finish_web_connect",
    "forget_strava_data",
    "start_web_connect",
]

#: the path of the web app that receives Strava's redirect
CALLBACK_PATH = "/strava/callback"


@dataclass(frozen=True, kw_only=True, slots=True)
class WebConnectStart:
    """Where to send the browser, and the state to keep in the session (neither is shown)."""

    url: str = field(repr=False)
    state: str = field(repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class WebDisconnectResult:
    disconnect: DisconnectResult
    deleted_activities: int  # the athlete's Strava-sourced activities deleted here


def callback_url(config: Config) -> str:
    """``[web] public_url`` + ``/strava/callback`` (its host is the Strava callback domain)."""
    return config.web.public_url.strip().rstrip("/") + CALLBACK_PATH


def connect_problem(config: Config) -> str | None:
    """What to set before the web app can connect Strava, or None when it can."""
    if not config.web.public_url.strip():
        return (
            "set [web] public_url (the address users open, e.g. https://loadmon.example.org): Strava sends the "
            "browser back to <public_url>/strava/callback, and its host is the Authorization Callback Domain of "
            "your Strava application (docs/strava.md)"
        )
    try:
        credentials(config)
    except ConfigError as exc:
        return str(exc)
    return None


def start_web_connect(svc: Service, athlete: Athlete) -> WebConnectStart:
    """A new state and the Strava authorisation URL (scope ``read,activity:read_all``)."""
    problem = connect_problem(svc.config)
    if problem is not None:
        raise ConfigError(problem, key="web.public_url" if "public_url" in problem else "strava.client_id")
    state = new_oauth_state()
    url = connect_url(svc, athlete, redirect_uri=callback_url(svc.config), state=state)
    return WebConnectStart(url=url, state=state)


def finish_web_connect(svc: Service, athlete: Athlete, *, expected_state: str | None, params: Mapping[str, str]) -> ConnectResult:
    """Check Strava's redirect (``params``: its query) and store the tokens for ``athlete``.

    A missing or different state is a :class:`ValidationError` (nothing is exchanged or stored);
    a refusal (``error=access_denied``) or a scope without ``activity:read(_all)`` is a
    :class:`StravaAuthError` saying what to do, raised before the code is exchanged.
    """
    state = params.get("state") or ""
    if not expected_state or not state or not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise ValidationError(
            "the Strava redirect does not belong to a Connect Strava started in this browser session "
            "(an old tab, or a forged link): nothing was stored; open Settings and click Connect Strava again"
        )
    if params.get("error"):
        raise StravaAuthError(
            "Strava access was not granted (you clicked Cancel, or Strava refused): nothing was stored; "
            "click Connect Strava again and then Authorize",
            reason=StravaAuthReason.REDIRECT,
        )
    scope = params.get("scope") or ""
    granted = {s.strip() for s in scope.split(",") if s.strip()}
    if not granted & ACTIVITY_SCOPES:
        raise StravaAuthError(
            f"Strava granted only {','.join(sorted(granted)) or 'nothing'}, without 'View data about your "
            "activities' (activity:read_all or activity:read): nothing was stored; click Connect Strava again "
            "and keep the activity boxes ticked",
            reason=StravaAuthReason.REDIRECT,
        )
    code = params.get("code") or ""
    if not code:
        raise ValidationError("the Strava redirect carried no code: nothing was stored; click Connect Strava again")
    return complete_connect(svc, athlete, code=code, scope=scope)


def forget_strava_data(svc: Service, athlete: Athlete) -> int:
    """Delete ``athlete``'s Strava-sourced activities and the Strava sync state (the API
    Agreement: Strava data goes when access is withdrawn). FIT/file-sourced activities stay;
    a file copy of a deleted Strava run counts in its place. Returns how many were deleted."""
    deleted = svc.store.delete_source_activities(athlete.id, SOURCE)
    for key in (BACKFILL_KEY, RECHECK_KEY, LAST_SYNC_KEY):
        svc.store.delete_state(athlete.id, key)
    log.info("strava.data.deleted", athlete_id=athlete.id, activities=deleted)
    return deleted


def disconnect_and_forget(svc: Service, athlete: Athlete) -> WebDisconnectResult:
    """Deauthorize at Strava, forget the tokens, delete the Strava-sourced activities."""
    result = disconnect(svc, athlete)
    return WebDisconnectResult(disconnect=result, deleted_activities=forget_strava_data(svc, athlete))
