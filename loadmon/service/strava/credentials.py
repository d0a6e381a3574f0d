"""The Strava connection of an athlete: the application's credentials, the stored tokens and
the connector built from them (every token refresh stored at once, the shared budget, the
service clock and sleep). A refused grant marks the connection ``needs_reauth``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from connectors.strava import StravaConnector, StravaTokens
from loadmon.config import Config
from loadmon.domain import Athlete
from loadmon.errors import ConfigError, LoadmonError, StravaAuthError, StravaAuthReason
from loadmon.service.context import Service
from loadmon.service.strava.budget import make_budget
from loadmon.service.strava.common import log, session_for, sleep_of
from loadmon.storage.store import StravaConnection


def credentials(config: Config) -> tuple[str, str]:
    """``(client_id, client_secret)``, or a ConfigError naming the missing keys."""
    client_id = config.strava.client_id.strip()
    secret = config.strava.client_secret.strip()
    missing = [key for key, value in (("strava.client_id", client_id), ("strava.client_secret", secret)) if not value]
    if missing:
        raise ConfigError(
            "Strava API credentials are missing: set " + " and ".join(missing) + " (client_id / client_secret in the "
            "strava section of the config file, or LOADMON_STRAVA__CLIENT_ID / LOADMON_STRAVA__CLIENT_SECRET in the "
            "environment); "
            "create an application at https://www.strava.com/settings/api (docs/strava.md)",
            key=missing[0],
        )
    if not client_id.isdigit():
        raise ConfigError(f"config key strava.client_id: expected the numeric Client ID of your Strava application, "
                          f"got {client_id!r}", key="strava.client_id")
    return client_id, secret


def require_credentials(config: Config) -> None:
    """A :class:`ConfigError` naming the key when the Strava API credentials are missing or
    malformed (``loadmon sync`` says so before any other work)."""
    credentials(config)


def save_tokens(svc: Service, athlete: Athlete, tokens: StravaTokens) -> None:
    svc.store.save_strava_tokens(athlete.id, strava_athlete_id=tokens.athlete_id, access_token=tokens.access_token,
                                 refresh_token=tokens.refresh_token, expires_at=tokens.expires_at,
                                 scope=tokens.scope or None)



def stored_tokens(row: StravaConnection) -> StravaTokens:
    """The connector's view of a stored connection."""
    return StravaTokens(access_token=row.access_token, refresh_token=row.refresh_token, expires_at=row.expires_at,
                        athlete_id=row.strava_athlete_id, scope=row.scope or "")


def connector_for(svc: Service, athlete: Athlete, *, wait: bool, session: requests.Session | None = None,
                  sleep: Callable[[float], None] | None = None) -> StravaConnector:
    """A connector for ``athlete``: stored tokens (every change stored at once), the SQL budget,
    ``svc.clock`` and the injected sleep."""
    client_id, secret = credentials(svc.config)
    row = svc.store.get_strava_connection(athlete.id)
    if row is None:
        raise StravaAuthError(f"athlete {athlete.name!r} is not connected to Strava: run `loadmon strava connect`")
    if row.needs_reauth:
        raise StravaAuthError(f"Strava access of athlete {athlete.name!r} was revoked or refused: run "
                              "`loadmon strava connect` again")
    tokens = stored_tokens(row)
    cfg = svc.config.strava
    sleep = sleep or sleep_of(svc)

    def on_tokens(new: StravaTokens) -> None:
        save_tokens(svc, athlete, new)  # at once: the old refresh token may already be dead

    return StravaConnector(
        session if session is not None else session_for(svc), client_id=client_id, client_secret=secret,
        tokens=tokens, budget=make_budget(svc, sleep=sleep, prune=True), on_tokens=on_tokens, clock=svc.clock, sleep=sleep,
        stream_sports=cfg.stream_sports, hysteresis_m=svc.config.fit.hysteresis_m, wait=wait,
    )


@contextmanager
def open_connector(svc: Service, athlete: Athlete, *, wait: bool,
                   sleep: Callable[[float], None] | None = None) -> Iterator[StravaConnector]:
    """A connector whose session is closed afterwards; a refused grant marks the connection."""
    session = session_for(svc)
    try:
        conn = connector_for(svc, athlete, wait=wait, session=session, sleep=sleep)
        try:
            yield conn
        except StravaAuthError as exc:
            raise auth_failed(svc, athlete, exc) from None
    finally:
        session.close()


def auth_failed(svc: Service, athlete: Athlete, exc: StravaAuthError) -> LoadmonError:
    """What a refused access means, by its ``reason``: the application's credentials are a
    ConfigError, an inactive application stays as it is, anything else marks the athlete's grant."""
    text = str(exc)
    if exc.reason is StravaAuthReason.APPLICATION_CREDENTIALS:  # our client id/secret, not the athlete's grant
        return ConfigError(text, key="strava.client_secret")
    if exc.reason is StravaAuthReason.APPLICATION_INACTIVE:  # the application's problem, not the athlete's grant
        return exc
    try:
        svc.store.mark_strava_needs_reauth(athlete.id)
    except LoadmonError:  # pragma: no cover - the auth error is what matters
        pass
    log.warning("strava.needs_reauth", athlete_id=athlete.id, error=text)
    return StravaAuthError(f"{text} (athlete {athlete.name!r} is marked as needing re-authorisation: "
                           "syncs skip it until it reconnects)")


def connected_athletes(svc: Service) -> list[Athlete]:
    """Athletes with a usable Strava connection (not waiting for re-authorisation)."""
    return [svc.store.get_athlete(athlete_id=i) for i in svc.store.strava_connected_athletes()]

