"""stravalib plumbing shared by the token functions and the connector.

* :func:`new_client` builds a :class:`stravalib.Client` on the given session, without
  stravalib's own rate limiter (loadmon's :class:`~connectors.strava.ratelimit.RateBudget`
  does that) and with the application's client id/secret set on its protocol object, which is
  what enables stravalib's automatic token refresh (its constructor does not take them).
* :func:`describe_fault` / :func:`auth_error` turn stravalib/requests errors into loadmon
  messages that name the call and the status but never a token or secret.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from loadmon.errors import StravaAuthError, StravaAuthReason

if TYPE_CHECKING:  # stravalib (and pint under it) costs ~0.5 s to import: loaded on first use only
    from stravalib import Client

_CREDENTIAL_WARNINGS = ("STRAVA_CLIENT_ID", "SILENCE_TOKEN_WARNINGS")


class _DropStravalibCredentialWarnings(logging.Filter):
    """stravalib warns on every Client() that STRAVA_CLIENT_ID/SECRET are not in the environment;
    loadmon passes them explicitly, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "root" or record.levelno != logging.WARNING:
            return True
        msg = record.getMessage()
        return not any(s in msg for s in _CREDENTIAL_WARNINGS)


_FILTER = _DropStravalibCredentialWarnings()


def _install_filter() -> None:
    root = logging.getLogger()
    if _FILTER not in root.filters:
        root.addFilter(_FILTER)


def epoch_to_utc(value: Any, *, what: str) -> datetime:
    from loadmon.errors import StravaMalformedError

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StravaMalformedError(f"Strava {what}: expires_at is {value!r}, expected epoch seconds")
    return datetime.fromtimestamp(int(value), UTC)


def new_client(
    session: requests.Session,
    *,
    client_id: int | str | None = None,
    client_secret: str | None = None,
    access_token: str | None = None,
    refresh_token: str | None = None,
    expires_at: datetime | None = None,
) -> Client:
    _install_filter()
    from stravalib import Client

    client = Client(
        access_token=access_token,
        rate_limit_requests=False,  # no stravalib limiter: RateBudget decides
        requests_session=session,
        token_expires=int(expires_at.timestamp()) if expires_at else None,
        refresh_token=refresh_token,
    )
    # stravalib reads STRAVA_CLIENT_ID/SECRET from the environment; ours win, and setting them
    # is what turns on its automatic refresh of an expired access token.
    client.protocol.client_id = int(client_id) if client_id not in (None, "") else None
    client.protocol.client_secret = client_secret or None
    return client


def response_errors(response: requests.Response | None) -> list[dict[str, Any]]:
    """The ``errors`` list of a Strava error body (``[]`` when absent or unreadable)."""
    if response is None:
        return []
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        errors = [errors]
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def describe_fault(response: requests.Response | None) -> str:
    """``HTTP 503 Service Unavailable`` plus Strava's ``resource.field code`` entries, if any."""
    if response is None:
        return "no response"
    parts = [f"HTTP {response.status_code} {response.reason or ''}".rstrip()]
    details = [
        ".".join(str(e.get(k)) for k in ("resource", "field") if e.get(k)) + (f" {e.get('code')}" if e.get("code") else "")
        for e in response_errors(response)
    ]
    details = [d for d in details if d.strip()]
    if details:
        parts.append("(" + "; ".join(details) + ")")
    return " ".join(parts)


def auth_error(response: requests.Response | None, *, athlete_id: int | None, action: str) -> StravaAuthError:
    """A 400/401 from ``/oauth/token`` (or a 401 from the API) as a loadmon error."""
    errors = response_errors(response)
    who = f"athlete {athlete_id}" if athlete_id is not None else "this athlete"
    if any(e.get("resource") == "Application" for e in errors):
        return StravaAuthError(
            f"Strava rejected the application credentials while {action} ({describe_fault(response)}): "
            "check [strava] client_id and client_secret", reason=StravaAuthReason.APPLICATION_CREDENTIALS,
        )
    if any(e.get("resource") == "AuthorizationCode" for e in errors):
        return StravaAuthError(
            f"Strava rejected the authorization code ({describe_fault(response)}): codes are single-use and "
            "expire quickly; run `loadmon strava connect` again", reason=StravaAuthReason.AUTHORIZATION_CODE,
        )
    return StravaAuthError(
        f"Strava access was revoked for {who} ({action}: {describe_fault(response)}): "
        "run `loadmon strava connect` again"
    )
