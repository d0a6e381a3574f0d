"""What every part of the Strava service shares: the sync-state keys, page size, the HTTP
session, the injected sleep and stop flag, and ISO-8601 time helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.strava import make_session
from loadmon.logs import get_logger
from loadmon.service.context import Service

log = get_logger("loadmon.strava")

SOURCE = "strava"
BACKFILL_KEY = "strava_backfill"  # {"cursor", "since", "first_start", "done", "listed", "errors", "requests", ...}
RECHECK_KEY = "strava_recheck"  # {"<activity id>": "<when its streams were last read>"}
LAST_SYNC_KEY = "strava_last_sync"
DUE_KEY = "strava_streams_due"  # {"<activity id>": {"start", "gain", "p2p"}}: descents waiting for their streams
PER_PAGE = 200
FRESH_HOURS = 48  # activities younger than this have their streams re-read (elevation corrections)...
RECHECK_EVERY_HOURS = 12  # ... at most this often
READ_ALL = "activity:read_all"
PROGRESS_EVERY_S = 0.2  # progress callbacks between pages: at most this often (wall clock)


def session_for(svc: Service) -> requests.Session:
    """The HTTP session to ``[strava] api_url``, each request within ``request_deadline_s``."""
    cfg = svc.config.strava
    return make_session(cfg.api_url, deadline_s=cfg.request_deadline_s)


def sleep_of(svc: Service) -> Callable[[float], None]:
    return svc.sleep


def stop_requested(svc: Service) -> bool:
    return svc.stop.is_set()


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def format_resume(resume_at: datetime, now: datetime | None = None) -> str:
    """``"resume after 10:15 UTC"`` (with the date when it is not today)."""
    when = resume_at.astimezone(UTC)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    text = f"{when:%H:%M} UTC" if when.date() == today else f"{when:%Y-%m-%d %H:%M} UTC"
    return f"resume after {text}"
