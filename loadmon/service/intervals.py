"""`loadmon intervals sync`: an athlete's activities from intervals.icu, stored like imported files.

Each listed activity's file (:mod:`connectors.intervals`: the original FIT/GPX/TCX, else intervals.icu's
FIT) goes through the same readers and the same per-file transaction as `loadmon import`, so:

* **deduplicated against the other sources:** a file already imported (the same bytes from a Garmin
  export or a watched folder) is a ``duplicate`` by its content hash, and the same run from another
  file or from Strava is linked by the cross-source match (start within 60 s, distance within 3 %);
* **incremental and resumable:** the state (``intervals``) keeps a cursor (the start day of the last
  activity stored, oldest first) and the ids done since; the next sync lists from the cursor minus
  :data:`OVERLAP_DAYS` and skips the ids done, so a sync stopped midway (a kill, a network error, the
  rate limit) goes on where it stopped and downloads nothing twice. The state is written after each
  activity.
* Activities intervals.icu got from Strava are not served by its API (Strava's terms): they are
  counted as ``strava_only`` and left to loadmon's own Strava sync.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests

from connectors.intervals import IntervalsActivity, IntervalsClient, file_format
from loadmon.domain import Athlete
from loadmon.errors import ConfigError, ImplausibleValueError, ImportFileError, IntervalsError
from loadmon.logs import get_logger
from loadmon.service.context import Service
from loadmon.service.import_pool import DecodeJob, decode
from loadmon.service.imports import described
from loadmon.service.load import today_for

__all__ = ["IntervalsSyncResult", "STATE_KEY", "OVERLAP_DAYS", "client_for", "sync"]

STATE_KEY = "intervals"
OVERLAP_DAYS = 2
EXTERNAL_PREFIX = "intervals:"
log = get_logger("loadmon.intervals")


@dataclass(frozen=True, kw_only=True)
class IntervalsSyncResult:
    athlete: str
    oldest: date
    listed: int = 0
    already_done: int = 0
    imported: int = 0
    duplicate: int = 0
    skipped: int = 0
    strava_only: int = 0
    failed: int = 0
    requests: int = 0
    failures: tuple[tuple[str, str], ...] = ()  # (activity id, reason)
    stopped: str | None = None  # why the sync stopped before the end (auth, rate limit, network)
    activity_ids: tuple[int, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "athlete": self.athlete,
            "oldest": self.oldest.isoformat(),
            "listed": self.listed,
            "already_done": self.already_done,
            "imported": self.imported,
            "duplicate": self.duplicate,
            "skipped": self.skipped,
            "strava_only": self.strava_only,
            "failed": self.failed,
            "requests": self.requests,
            "failures": [{"activity": a, "reason": r} for a, r in self.failures],
            "stopped": self.stopped,
        }


def client_for(svc: Service, session: requests.Session | None = None) -> IntervalsClient:
    """The client of ``[intervals]`` (a :class:`ConfigError` naming the missing key)."""
    cfg = svc.config.intervals
    for key in ("athlete_id", "api_key"):
        if not getattr(cfg, key).strip():
            raise ConfigError(
                f"config key intervals.{key} is not set (or env LOADMON_INTERVALS__{key.upper()}): see docs/intervals.md",
                key=f"intervals.{key}",
            )
    return IntervalsClient(
        api_url=cfg.api_url,
        athlete_id=cfg.athlete_id.strip(),
        api_key=cfg.api_key.strip(),
        session=session or requests.Session(),
        min_interval_s=cfg.min_interval_s,
        sleep=svc.sleep,
    )


def sync(
    svc: Service,
    athlete: Athlete,
    *,
    since: date | None = None,
    client: IntervalsClient | None = None,
    on_activity: Callable[[IntervalsActivity], None] | None = None,
) -> IntervalsSyncResult:
    """Store the athlete's intervals.icu activities from ``since`` (default: the cursor, or
    ``first_sync_days`` back the first time); see the module doc."""
    client = client or client_for(svc)
    state = svc.store.get_state(athlete.id, STATE_KEY) or {}
    today = today_for(svc, athlete)
    cursor = date.fromisoformat(state["cursor"]) if state.get("cursor") else None
    if since is not None:
        oldest = since
    elif cursor is not None:
        oldest = cursor - timedelta(days=OVERLAP_DAYS)
    else:
        oldest = today - timedelta(days=svc.config.intervals.first_sync_days)
    done = set(state.get("done", []))
    counts: dict[str, int] = {"already_done": 0, "imported": 0, "duplicate": 0, "skipped": 0, "strava_only": 0}
    failures: list[tuple[str, str]] = []
    activity_ids: list[int] = []
    stopped: str | None = None
    try:
        listing = client.list_activities(oldest, today)
    except IntervalsError as exc:
        return IntervalsSyncResult(athlete=athlete.name, oldest=oldest, requests=client.requests_made, stopped=str(exc))
    start_day = {a.activity_id: a.start_time.date() if a.start_time else today for a in listing}
    for act in listing:
        if act.activity_id in done:
            counts["already_done"] += 1
            continue
        if (act.source or "").upper() == "STRAVA":
            counts["strava_only"] += 1
        else:
            name = f"intervals.icu activity {act.activity_id}"
            try:
                outcome = _store_one(svc, athlete, client, act, name, activity_ids)
                counts[outcome] += 1
            except IntervalsError as exc:
                if exc.reason in ("auth", "rate_limited", "network"):
                    stopped = str(exc)  # everything up to here is stored; the next sync goes on from here
                    break
                failures.append((act.activity_id, str(exc)))
            except (ImportFileError, ImplausibleValueError) as exc:
                failures.append((act.activity_id, str(exc)))
        done.add(act.activity_id)
        day = act.start_time.date() if act.start_time else today
        cursor = max(cursor, day) if cursor else day
        keep_from = cursor - timedelta(days=OVERLAP_DAYS + 1)
        done = {i for i in done if start_day.get(i, keep_from) >= keep_from}  # older ids are never listed again
        svc.store.set_state(athlete.id, STATE_KEY, {"cursor": cursor.isoformat(), "done": sorted(done)})
        if on_activity is not None:
            on_activity(act)
    log.info(
        "intervals.sync", athlete_id=athlete.id, listed=len(listing), requests=client.requests_made, stopped=stopped is not None, **counts
    )
    return IntervalsSyncResult(
        athlete=athlete.name,
        oldest=oldest,
        listed=len(listing),
        failed=len(failures),
        failures=tuple(failures),
        requests=client.requests_made,
        stopped=stopped,
        activity_ids=tuple(activity_ids),
        **counts,
    )


def _store_one(svc: Service, athlete: Athlete, client: IntervalsClient, act: IntervalsActivity, name: str, activity_ids: list[int]) -> str:
    """Download, read and store one activity; returns imported | duplicate | skipped."""
    data = client.download(act.activity_id)
    fmt = file_format(data)
    if fmt is None:
        raise ImportFileError(name, "intervals.icu sent a file that is not FIT, GPX or TCX")
    digest = hashlib.sha256(data).hexdigest()
    if svc.store.import_seen(athlete.id, digest):
        return "duplicate"
    decoded = decode(
        DecodeJob(name=name, format=fmt, data=data, hysteresis_m=svc.config.fit.hysteresis_m, allow_truncated=False, now=svc.clock())
    )
    if decoded.failure is not None:
        raise ImportFileError(name, decoded.failure)
    parsed = decoded.parsed
    assert parsed is not None
    if parsed.skipped_reason:
        svc.store.record_import(athlete.id, path=name, content_hash=digest, records=(), outcome="skipped", error=parsed.skipped_reason)
        return "skipped"
    records = tuple(
        described(r, activity_type=act.activity_type, name=act.name, external_id=f"{EXTERNAL_PREFIX}{act.activity_id}")
        for r in parsed.activities
    )
    outcome = svc.store.record_import(
        athlete.id, path=name, content_hash=digest, records=records, outcome="imported", error="; ".join(parsed.notices) or None
    )
    activity_ids.extend(outcome.activity_ids)
    return "imported" if outcome.new_activities or outcome.replaced_activities else "duplicate"
