"""The scheduled jobs other than the folder scan: Strava sync and nightly reconciliation, rule
evaluation, outbox delivery and housekeeping (the folder scan is :mod:`loadmon.service.watch`).

Every function takes the :class:`Service` and returns a recorded :class:`JobResult` (or a list
of them, one per athlete) from :func:`loadmon.service.jobrunner.run_job`; none raises. Rule
evaluation follows every import that touched activities; the Strava sync evaluates the rules
itself for the athletes it touched. The Strava and alerting services are imported lazily: while
one is absent, its jobs are recorded as ``skipped`` with the reason. How often each runs is
:mod:`loadmon.service.schedule`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from loadmon.domain import Athlete
from loadmon.errors import RateLimitExhausted
from loadmon.logs import get_logger
from loadmon.service.context import Service
from loadmon.service.jobrunner import (
    JOB_DELIVER,
    JOB_EVALUATE,
    JOB_FILL,
    JOB_HOUSEKEEPING,
    JOB_MORNING,
    JOB_RECONCILE,
    JOB_STRAVA_EVENTS,
    JOB_SYNC,
    BodyResult,
    JobResult,
    JobSkipped,
    optional_module,
    run_job,
    stopping,
    with_then,
)

KEEP_JOB_RUNS_DAYS = 14
log = get_logger("loadmon.jobs")


# ------------------------------------------------------------------------------- Strava
def _strava_job(svc: Service, job: str, athlete_id: int, call: Callable[[Any, Athlete], dict[str, Any]]) -> JobResult:
    """One recorded run of ``call(strava_sync module, athlete)``; a spent request budget skips it."""
    def body() -> dict[str, Any]:
        strava_sync = optional_module("strava_sync", "Strava sync")
        athlete = svc.store.get_athlete(athlete_id=athlete_id)
        try:
            result = call(strava_sync, athlete)
        except RateLimitExhausted as exc:
            raise JobSkipped(f"Strava request budget spent: {exc}", {"resume_at": exc.resume_at}) from None
        _log_skipped(athlete_id, result)
        return result
    return run_job(svc, job, body, athlete_id=athlete_id)


def _log_skipped(athlete_id: int, result: Any) -> None:
    """The activities a sync skipped (and the backfill it continued), one warning each."""
    for counts in (getattr(result, "counts", None), getattr(getattr(result, "backfill", None), "counts", None)):
        for item in getattr(counts, "skipped", ()):
            log.warning("strava.activity.skipped", athlete_id=athlete_id, activity_id=item.activity_id,
                        reason=item.reason, error=item.error)


def sync_athlete(svc: Service, athlete_id: int) -> JobResult:
    """Incremental Strava sync (with reconciliation of recent days) for one athlete. The sync
    evaluates the alert rules itself for the athletes it touched."""
    def call(strava_sync: Any, athlete: Athlete) -> Any:
        webhooks = optional_module("strava.webhooks", "Strava webhooks")
        reason = webhooks.poll_skip_reason(svc, athlete.id)  # an active push subscription relaxes polling
        if reason is not None:
            raise JobSkipped(reason)
        return strava_sync.sync(svc, athlete, wait=False)
    return _strava_job(svc, JOB_SYNC, athlete_id, call)


def sync_all(svc: Service) -> list[JobResult]:
    """:func:`sync_athlete` for every connected athlete (read at each call, so athletes who
    connect while the daemon runs are picked up). Stops between athletes on the stop flag."""
    results = []
    for athlete_id in _connected(svc, JOB_SYNC):
        if stopping(svc):
            break
        result = sync_athlete(svc, athlete_id)
        if result.outcome != "skipped" or "resume_at" in result.counts:
            if "alerts" not in result.counts:
                # Catch up on activities that an interrupted earlier sync stored but never evaluated
                # (SIGKILL between storing and evaluating). Evaluation is idempotent (dedupe keys) and cheap.
                result = with_then(result, evaluate(svc, [athlete_id]))
        results.append(result)
    return results


def fill_all(svc: Service) -> JobResult:
    """The streams fill, one recorded run over every connected athlete with streams due: descents of older
    Strava runs from spare budget only (lowest priority: it stops while less than a fifth of the window or
    the day is left, and never waits for a window); the rules run again for each athlete it changed."""
    def body() -> dict[str, Any]:
        from loadmon.service.strava.fill import DUE_KEY, fill

        out: dict[str, Any] = {}
        for athlete_id in svc.store.strava_connected_athletes():
            if stopping(svc):
                break
            if svc.store.get_state(athlete_id, DUE_KEY):
                out[str(athlete_id)] = fill(svc, svc.store.get_athlete(athlete_id=athlete_id)).to_dict()
        return out
    return run_job(svc, JOB_FILL, body)


def reconcile_athlete(svc: Service, athlete_id: int, *, days: int | None = None) -> JobResult:
    """Re-read one athlete's recent Strava days (edits and deletions)."""
    return _strava_job(svc, JOB_RECONCILE, athlete_id,
                       lambda strava_sync, athlete: strava_sync.reconcile(svc, athlete, days=days))


def reconcile_all(svc: Service) -> list[JobResult]:
    """The nightly reconciliation (edits and deletions on Strava) for every connected athlete."""
    results = []
    for athlete_id in _connected(svc, JOB_RECONCILE):
        if stopping(svc):
            break
        results.append(reconcile_athlete(svc, athlete_id))
    return results


def _connected(svc: Service, job: str) -> list[int]:
    try:
        return list(svc.store.strava_connected_athletes())
    except Exception as exc:
        failure = exc

    def body() -> None:
        raise failure
    run_job(svc, job, body)
    return []


#: The events job runs every few seconds: a pass with nothing to do is recorded in job_runs at most this often
#: (enough for `daemon status`, which calls a job overdue after ``stale_after_minutes``).
IDLE_RECORD_S = 600.0
_idle_recorded: dict[int, float] = {}  # id(svc) -> when (monotonic) an idle pass was last recorded


def strava_events(svc: Service) -> JobResult:
    """Process the Strava webhook events the web app recorded (:mod:`loadmon.service.strava.events`):
    read each activity from the API, store it, evaluate and deliver."""
    try:
        due = svc.store.strava_events_due(svc.clock())
    except Exception:
        due = True  # the recorded run below says what is wrong
    if not due and time.monotonic() - _idle_recorded.get(id(svc), float("-inf")) < IDLE_RECORD_S:
        return JobResult(job=JOB_STRAVA_EVENTS, outcome="ok", counts={"claimed": 0})

    def body() -> BodyResult:
        events = optional_module("strava.events", "Strava webhook events")
        result = events.process_events(svc)
        error = "; ".join(result.errors[:3]) if result.failed else None
        return BodyResult(counts=result.to_dict(), touched=result.athlete_ids, error=error)
    out = run_job(svc, JOB_STRAVA_EVENTS, body)
    if not out.counts.get("claimed"):
        _idle_recorded[id(svc)] = time.monotonic()
    return out


# ------------------------------------------------------------------------------- alerts
def evaluate(svc: Service, athlete_ids: Iterable[int]) -> JobResult:
    """Evaluate the alert rules for these athletes (new alerts go to the outbox; the ``deliver``
    job sends them): :func:`loadmon.service.after_store.after_change` with ``deliver=False``."""
    ids = sorted(set(athlete_ids))

    def body() -> dict[str, Any]:
        optional_module("alerting", "alert evaluation")  # skipped while the alerts feature is absent
        after_store = optional_module("after_store", "alert evaluation")
        return {"athletes": ids, **after_store.after_change(svc, ids, deliver=False).to_dict()}
    return run_job(svc, JOB_EVALUATE, body, athlete_id=ids[0] if len(ids) == 1 else None)


def deliver(svc: Service) -> JobResult:
    """Send the outbox deliveries that are due (retries with back-off are the outbox's)."""
    def body() -> dict[str, Any]:
        alerting = optional_module("alerting", "alert delivery")
        return alerting.deliver_due(svc).to_dict()
    return run_job(svc, JOB_DELIVER, body)


def morning_messages(svc: Service) -> JobResult:
    """Queue today's morning check-in message for each athlete it is due for
    (:func:`loadmon.service.checkin.queue_morning_checkins`) and the morning limits message
    (:func:`loadmon.service.morning_limits.queue_morning_limits`); the ``deliver`` job sends them."""
    def body() -> dict[str, Any]:
        from loadmon.service.checkin import queue_morning_checkins
        from loadmon.service.morning_limits import queue_morning_limits

        counts = queue_morning_checkins(svc).to_dict()
        limits = queue_morning_limits(svc).to_dict()
        # "queued" counts both kinds (the scheduler wakes delivery on it); "limits" holds the limits' own counts
        return {**counts, "queued": counts["queued"] + limits["queued"], "limits": limits}
    return run_job(svc, JOB_MORNING, body)


# --------------------------------------------------------------------------- housekeeping
def housekeeping(svc: Service, *, keep_days: int = KEEP_JOB_RUNS_DAYS) -> JobResult:
    """Prune job runs older than ``keep_days`` (the latest run and error of each job stay)."""
    from loadmon.storage.jobruns import prune_job_runs

    def body() -> dict[str, Any]:
        return {"pruned_runs": prune_job_runs(svc.store, before=svc.clock() - timedelta(days=keep_days))}
    return run_job(svc, JOB_HOUSEKEEPING, body)


__all__ = ["KEEP_JOB_RUNS_DAYS", "deliver", "evaluate", "fill_all", "housekeeping", "morning_messages", "reconcile_all", "reconcile_athlete",
           "strava_events", "sync_all", "sync_athlete"]
