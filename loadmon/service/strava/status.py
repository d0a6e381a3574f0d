"""What `loadmon strava status` shows: the connection, token expiry, backfill position, last
sync and the request budget (never a token)."""

from __future__ import annotations

from loadmon.domain import Athlete
from loadmon.service.context import Service
from loadmon.service.strava.budget import make_budget
from loadmon.service.strava.common import BACKFILL_KEY, LAST_SYNC_KEY
from loadmon.service.strava.records import StravaLink, StravaStatus


def status(svc: Service, athlete: Athlete) -> StravaStatus:
    """Connection, token expiry, backfill position, last sync and request budget (never a token)."""
    row = svc.store.get_strava_connection(athlete.id)
    cfg = svc.config.strava
    link = None
    if row is not None:
        link = StravaLink(strava_athlete_id=row.strava_athlete_id, scope=row.scope, needs_reauth=row.needs_reauth,
                          token_expires_at=row.expires_at, token_expired=row.expires_at <= svc.clock())
    configured = bool(cfg.client_id.strip() and cfg.client_secret.strip())
    return StravaStatus(athlete=athlete.name, credentials_configured=configured,
                        api_url=cfg.api_url, link=link, backfill=svc.store.get_state(athlete.id, BACKFILL_KEY),
                        last_sync=svc.store.get_state(athlete.id, LAST_SYNC_KEY),
                        budget=tuple(make_budget(svc).status()))
