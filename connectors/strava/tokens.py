"""Strava OAuth: the authorisation URL, code exchange, refresh and deauthorisation.

Access tokens last 6 hours; a refresh may return a *new* refresh token and the old one then
stops working, so whoever calls :func:`refresh` (or runs a :class:`StravaConnector`, which
refreshes by itself and reports through ``on_tokens``) must persist the returned tokens.

Nothing here ever puts a token or the client secret into a log line, an exception message or
a ``repr``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import structlog

from connectors.strava.client import auth_error, describe_fault, epoch_to_utc, new_client
from connectors.strava.retry import RetryPolicy
from connectors.strava.session import STRAVA_URL, rewrite_url
from loadmon.errors import ConnectorError, StravaAuthError, StravaError, StravaMalformedError

log = structlog.get_logger("connectors.strava.tokens")

T = TypeVar("T")

DEFAULT_SCOPE: tuple[str, ...] = ("read", "activity:read_all")
ACTIVITY_SCOPES = frozenset({"activity:read", "activity:read_all"})


@dataclass(frozen=True, kw_only=True, slots=True)
class StravaTokens:
    """One athlete's Strava grant. ``repr`` hides both tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime  # timezone-aware
    athlete_id: int  # the Strava athlete id (64-bit)
    scope: str = ""  # comma-separated, as Strava reported it on the redirect

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("StravaTokens.expires_at must be timezone-aware")

    def expires_within(self, now: datetime, seconds: float) -> bool:
        return (self.expires_at - now).total_seconds() <= seconds


def authorize_url(
    client_id: int | str,
    redirect_uri: str,
    state: str,
    api_url: str = STRAVA_URL,
    *,
    scope: Iterable[str] = DEFAULT_SCOPE,
    approval_prompt: str = "auto",
) -> str:
    """The URL the athlete opens to grant access (``/oauth/authorize`` on ``api_url``)."""
    client = new_client(requests.Session())
    url = client.authorization_url(
        client_id=int(client_id), redirect_uri=redirect_uri, approval_prompt=approval_prompt,  # type: ignore[arg-type]
        scope=list(scope), state=state,  # type: ignore[arg-type]
    )
    return rewrite_url(url, api_url)


def require_activity_scope(scope: str, *, athlete_id: int | None = None) -> None:
    """Raise :class:`StravaAuthError` unless ``scope`` lets loadmon read activities."""
    granted = {s.strip() for s in (scope or "").split(",") if s.strip()}
    if not granted & ACTIVITY_SCOPES:
        who = f"athlete {athlete_id}" if athlete_id is not None else "the athlete"
        raise StravaAuthError(
            f"Strava access for {who} does not include activity:read or activity:read_all (granted: "
            f"{','.join(sorted(granted)) or 'nothing'}): run `loadmon strava connect` again and keep "
            "'View data about your activities' (and private activities) ticked"
        )


def oauth_call(
    what: str,
    fn: Callable[[], T],
    *,
    athlete_id: int | None,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
) -> T:
    """Run one ``/oauth/*`` call: 400/401 -> :class:`StravaAuthError`; network/5xx retried."""
    from stravalib import exc  # imported on first use (see connectors/strava/client.py)

    failures = 0
    while True:
        try:
            return fn()
        except exc.Fault as e:
            status = e.response.status_code if e.response is not None else None
            if status in (400, 401, 403):
                raise auth_error(e.response, athlete_id=athlete_id, action=what) from None
            if status is not None and status < 500:
                raise StravaError(f"Strava {what} failed: {describe_fault(e.response)}") from None
            reason = describe_fault(e.response)
        except requests.exceptions.JSONDecodeError:
            reason = "unreadable response body (not JSON)"
        except requests.RequestException as e:
            reason = f"{type(e).__name__}"
        except KeyError as e:
            raise StravaMalformedError(f"Strava {what}: the response has no {e.args[0]!r}") from None
        failures += 1
        if failures >= retry.max_attempts:
            raise ConnectorError(f"Strava {what} failed after {failures} attempts: {reason}")
        delay = retry.delay(failures)
        log.warning("strava.retry", call=what, attempt=failures, delay_s=delay, reason=reason)
        sleep(delay)


def _athlete_id_of(response_athlete: Any) -> int:
    athlete_id = response_athlete.get("id") if isinstance(response_athlete, dict) else None
    if isinstance(athlete_id, bool) or not isinstance(athlete_id, int):
        raise StravaMalformedError(f"Strava code exchange: the response's athlete.id is {athlete_id!r}, expected an integer")
    return athlete_id


def exchange_code(
    session: requests.Session,
    client_id: int | str,
    client_secret: str,
    code: str,
    *,
    scope: str | None = None,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> StravaTokens:
    """Exchange the ``code`` from the OAuth redirect for tokens.

    ``scope`` is the ``scope`` query parameter of the same redirect (Strava does not repeat it
    in the token response); when given, it must include an activity read scope.
    """
    client = new_client(session, client_id=client_id, client_secret=client_secret)

    def call() -> tuple[Any, Any]:
        return client.protocol.exchange_code_for_token(
            client_id=int(client_id), client_secret=client_secret, code=code, return_athlete=True,
        )

    access, athlete = oauth_call("exchanging the authorization code", call, athlete_id=None, retry=retry, sleep=sleep)
    athlete_id = _athlete_id_of(athlete)
    if scope is not None:
        require_activity_scope(scope, athlete_id=athlete_id)
    tokens = StravaTokens(
        access_token=str(access["access_token"]),
        refresh_token=str(access["refresh_token"]),
        expires_at=epoch_to_utc(access["expires_at"], what="code exchange"),
        athlete_id=athlete_id,
        scope=scope or "",
    )
    log.info("strava.connected", athlete_id=athlete_id, expires_at=tokens.expires_at.isoformat(), scope=tokens.scope)
    return tokens


def refresh(
    session: requests.Session,
    client_id: int | str,
    client_secret: str,
    tokens: StravaTokens,
    *,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> StravaTokens:
    """A fresh access token (and possibly a rotated refresh token): persist the result."""
    client = new_client(session, client_id=client_id, client_secret=client_secret)
    return refresh_with_client(client, client_id, client_secret, tokens, retry=retry, sleep=sleep)


def refresh_with_client(
    client: Any,
    client_id: int | str,
    client_secret: str,
    tokens: StravaTokens,
    *,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
) -> StravaTokens:
    def call() -> dict[str, Any]:
        return dict(client.protocol.refresh_access_token(
            client_id=int(client_id), client_secret=client_secret, refresh_token=tokens.refresh_token,
        ))

    access = oauth_call("refreshing the access token", call, athlete_id=tokens.athlete_id, retry=retry, sleep=sleep)
    new = StravaTokens(
        access_token=str(access["access_token"]),
        refresh_token=str(access["refresh_token"]),
        expires_at=epoch_to_utc(access["expires_at"], what="token refresh"),
        athlete_id=tokens.athlete_id,
        scope=tokens.scope,
    )
    log.info("strava.token.refreshed", athlete_id=tokens.athlete_id, expires_at=new.expires_at.isoformat(),
             refresh_token_rotated=new.refresh_token != tokens.refresh_token)
    return new


def deauthorize(
    session: requests.Session,
    tokens: StravaTokens,
    *,
    client_id: int | str | None = None,
    client_secret: str | None = None,
    now: datetime | None = None,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Revoke loadmon's access (``POST /oauth/deauthorize``). An already revoked grant is fine.

    With the application credentials, an expired access token is refreshed first (otherwise
    Strava would answer 401 and the grant would stay in the athlete's "My Apps").
    """
    if client_id not in (None, "") and client_secret and tokens.expires_within(now or datetime.now(UTC), 60):
        try:
            tokens = refresh(session, client_id, client_secret, tokens, retry=retry, sleep=sleep)
        except StravaAuthError:
            log.info("strava.deauthorized", athlete_id=tokens.athlete_id, already_revoked=True)
            return
    client = new_client(session, access_token=tokens.access_token)

    def call() -> Any:
        # stravalib's Client.deauthorize() posts to /api/v3/oauth/deauthorize; Strava documents
        # https://www.strava.com/oauth/deauthorize, so give the protocol the absolute URL.
        return client.protocol.post(f"{STRAVA_URL}/oauth/deauthorize")

    try:
        oauth_call("deauthorizing", call, athlete_id=tokens.athlete_id, retry=retry, sleep=sleep)
    except StravaAuthError:
        log.info("strava.deauthorized", athlete_id=tokens.athlete_id, already_revoked=True)
        return
    log.info("strava.deauthorized", athlete_id=tokens.athlete_id, already_revoked=False)
