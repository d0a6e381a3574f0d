"""What `loadmon strava status` shows: the connection, token expiry, backfill position, last
sync and the request budget (never a token)."""

from __future__ import annotations

from typing import Any

from loadmon.domain import Athlete
from loadmon.service.context import Service
from loadmon.service.strava.budget import make_budget
from loadmon.service.strava.common import BACKFILL_KEY, LAST_SYNC_KEY, iso


def status(svc: Service, athlete: Athlete) -> dict[str, Any]:
    """Connection, token expiry, backfill position, last sync and request budget (never a token)."""
    row = svc.store.get_strava_connection(athlete.id)
    now = svc.clock()
    cfg = svc.config.strava
    out: dict[str, Any] = {
        "athlete": athlete.name,
        "connected": row is not None,
        "credentials_configured": bool(cfg.client_id.strip() and cfg.client_secret.strip()),
        "api_url": cfg.api_url,
    }
    if row is not None:
        out.update({"strava_athlete_id": row.strava_athlete_id, "scope": row.scope,
                    "needs_reauth": row.needs_reauth, "token_expires_at": iso(row.expires_at),
                    "token_expired": row.expires_at <= now})
    out["backfill"] = svc.store.get_state(athlete.id, BACKFILL_KEY)
    out["last_sync"] = svc.store.get_state(athlete.id, LAST_SYNC_KEY)
    budget = make_budget(svc)
    out["budget"] = [{"kind": s.kind, "window_start": iso(s.window_start), "window_used": s.window_used,
                      "window_limit": s.window_limit, "day": s.day, "day_used": s.day_used, "day_limit": s.day_limit,
                      "margin": s.margin} for s in budget.status()]
    return out

