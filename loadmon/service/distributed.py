"""The daemon's job functions made safe for several workers on several hosts (one database).

:mod:`loadmon.worker` (Celery) runs these; each wraps the SAME job function
(:mod:`loadmon.service.scheduled_jobs`, :mod:`loadmon.service.watch`) that the single-process
daemon runs, adding the one guard that a single process did not need: a **work lock**
(:mod:`loadmon.storage.worklocks`; a PostgreSQL advisory lock held by the worker's database session).

- Everything about one athlete (Strava sync, reconciliation, rule evaluation) holds the lock
  ``("athlete", athlete_id)``: two workers never sync the same athlete at once. A function
  whose athlete is busy returns ``None`` without doing anything (the caller retries later).
- The watched-folder scan holds ``("import_watched", 0)``: one scan at a time.
- Delivery needs no lock: outbox rows are leased (``claim_due_deliveries``: ``FOR UPDATE
  SKIP LOCKED`` + ``claimed_until``), so two workers never send the same row.

What else makes several workers safe is already in the store: an activity is unique on
(athlete, source, source_id) (an upsert), an alert on its dedupe key, and the Strava
request budget is counted in the database (``rate_budget``) by every worker. A worker
killed in the middle of a sync loses nothing: each Strava page and its cursor are one
transaction, and the next run resumes from the stored cursor; a mark in the athlete's sync
state (``PENDING_KEY``) makes the next completed run evaluate the rules even when it finds
nothing new, so activities stored by a run that died before its evaluation still alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from loadmon.logs import get_logger
from loadmon.service import scheduled_jobs, watch
from loadmon.service.context import Service
from loadmon.service.jobrunner import JobResult

log = get_logger("loadmon.distributed")

ATHLETE_LOCK = "athlete"
IMPORT_LOCK = "import_watched"
PENDING_KEY = "worker_sync_unfinished"  # sync state: a sync/reconcile started and has not completed

__all__ = [
    "ATHLETE_LOCK", "IMPORT_LOCK", "PENDING_KEY", "all_athletes", "busy_athletes", "connected_athletes", "deliver",
    "evaluate_athlete", "housekeeping", "import_watched", "morning_messages", "reconcile_athlete", "strava_events", "sync_athlete",
    "with_athlete_lock",
]


def _try_lock(svc: Service, namespace: str, key: int) -> Any:
    from loadmon.storage.worklocks import try_work_lock

    return try_work_lock(svc.store, namespace, key)


def with_athlete_lock(svc: Service, athlete_id: int, fn: Callable[[], JobResult]) -> JobResult | None:
    """Run ``fn`` holding the athlete's work lock; ``None`` (and nothing run) when it is busy."""
    lock = _try_lock(svc, ATHLETE_LOCK, athlete_id)
    if lock is None:
        log.info("worker.athlete_busy", athlete_id=athlete_id)
        return None
    try:
        return fn()
    finally:
        lock.release()


def _storing(svc: Service, athlete_id: int, run: Callable[[], JobResult]) -> JobResult:
    """Run a job that stores activities and then evaluates the rules when something changed,
    so that no stored activity is left unevaluated by a run that never finished.

    A sync killed after storing activities but before its evaluation (SIGKILL), or stopped by
    the Strava budget in between, leaves the mark ``PENDING_KEY`` in the athlete's sync state.
    The next run that completes evaluates the athlete even when it found nothing new itself
    (dedupe keys make a repeated evaluation free of duplicates), then clears the mark.
    """
    previous = svc.store.get_state(athlete_id, PENDING_KEY)
    svc.store.set_state(athlete_id, PENDING_KEY, {"since": (previous or {}).get("since") or svc.clock().isoformat()})
    result = run()
    if result.outcome != "ok":
        return result  # the mark stays: the next completed run evaluates
    if previous is not None and "alerts" not in result.counts:
        log.info("worker.evaluate_unfinished", athlete_id=athlete_id, pending_since=previous.get("since"))
        result = replace(result, then=result.then + (scheduled_jobs.evaluate(svc, [athlete_id]),))
    svc.store.delete_state(athlete_id, PENDING_KEY)
    return result


def sync_athlete(svc: Service, athlete_id: int) -> JobResult | None:
    """:func:`loadmon.service.scheduled_jobs.sync_athlete` under the athlete's lock (it evaluates
    the rules; after an unfinished earlier run, the rules run even when nothing new was found)."""
    return with_athlete_lock(svc, athlete_id,
                             lambda: _storing(svc, athlete_id, lambda: scheduled_jobs.sync_athlete(svc, athlete_id)))


def reconcile_athlete(svc: Service, athlete_id: int) -> JobResult | None:
    """:func:`loadmon.service.scheduled_jobs.reconcile_athlete` under the athlete's lock (same mark
    as the sync)."""
    return with_athlete_lock(svc, athlete_id,
                             lambda: _storing(svc, athlete_id, lambda: scheduled_jobs.reconcile_athlete(svc, athlete_id)))


def evaluate_athlete(svc: Service, athlete_id: int) -> JobResult | None:
    """:func:`loadmon.service.scheduled_jobs.evaluate` for one athlete under the athlete's lock (the
    cooldown check reads, then writes: one evaluation of an athlete at a time)."""
    return with_athlete_lock(svc, athlete_id, lambda: scheduled_jobs.evaluate(svc, [athlete_id]))


def import_watched(svc: Service) -> JobResult | None:
    """:func:`loadmon.service.watch.import_watched` (then evaluation), one scan at a time."""
    lock = _try_lock(svc, IMPORT_LOCK, 0)
    if lock is None:
        return None
    try:
        return watch.import_watched(svc)
    finally:
        lock.release()


def deliver(svc: Service) -> JobResult:
    """:func:`loadmon.service.scheduled_jobs.deliver` (leased outbox rows: safe to run anywhere)."""
    return scheduled_jobs.deliver(svc)


def housekeeping(svc: Service) -> JobResult:
    return scheduled_jobs.housekeeping(svc)


def morning_messages(svc: Service) -> JobResult:
    """:func:`loadmon.service.scheduled_jobs.morning_messages` (a per-day dedupe key: safe to run anywhere)."""
    return scheduled_jobs.morning_messages(svc)


def strava_events(svc: Service) -> JobResult:
    """The recorded Strava webhook events: no lock needed, each event is leased
    (``claim_strava_events``), so any number of workers may run it."""
    return scheduled_jobs.strava_events(svc)


def connected_athletes(svc: Service) -> list[int]:
    """Ids of the athletes with a usable Strava connection (the per-athlete sync fan-out)."""
    return sorted(svc.store.strava_connected_athletes())


def all_athletes(svc: Service) -> list[int]:
    return [a.id for a in svc.store.list_athletes()]


def busy_athletes(svc: Service) -> list[int]:
    """Athletes some worker holds right now (PostgreSQL; [] on SQLite)."""
    from loadmon.storage.worklocks import held_work_locks

    return held_work_locks(svc.store, ATHLETE_LOCK)
