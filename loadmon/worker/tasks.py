"""loadmon's Celery tasks: the daemon's job functions, one message per unit of work.

========================== ===================================================================
task                       what it runs
========================== ===================================================================
``loadmon.sync_all``       fan-out: one ``loadmon.sync_athlete`` per connected athlete
``loadmon.sync_athlete``   :func:`loadmon.service.distributed.sync_athlete` (Strava sync, then
                           the rules, under the athlete's lock), then wakes delivery
``loadmon.reconcile_all``  fan-out: one ``loadmon.reconcile_athlete`` per connected athlete
``loadmon.reconcile_athlete`` the nightly re-read of recent Strava days, under the athlete's lock
``loadmon.evaluate_all``   fan-out: one ``loadmon.evaluate_athlete`` per athlete
``loadmon.evaluate_athlete`` the alert rules for one athlete, under the athlete's lock
``loadmon.deliver``        the outbox (leased rows: any number of workers may run it)
``loadmon.import_watched`` the watched folders (one scan at a time), then the rules
``loadmon.housekeeping``   prune old job runs
``loadmon.morning_messages`` the morning check-in messages due now, then wakes delivery
``loadmon.strava_events``  the recorded Strava webhook events (leased rows), then wakes delivery
``loadmon.fill_all``       the Strava streams of older runs, from spare budget only
========================== ===================================================================

A fan-out enqueues an athlete's task only when none is queued yet (a Redis marker
``<key_prefix>loadmon:pending:<task>:<athlete id>`` set with NX and a TTL, cleared when the
task ends), so a slow worker pool never piles up copies of the same sync. A per-athlete task
whose athlete another worker holds is retried ``LOCK_RETRIES`` times, ``lock_retry_s`` apart,
then dropped (the other worker is doing that very work; the next scheduled run comes anyway).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.exceptions import MaxRetriesExceededError
from celery.signals import worker_process_shutdown

from loadmon.logs import get_logger
from loadmon.service import distributed, jobs
from loadmon.worker import runtime

log = get_logger("loadmon.worker")

SYNC_ALL = "loadmon.sync_all"
SYNC_ATHLETE = "loadmon.sync_athlete"
RECONCILE_ALL = "loadmon.reconcile_all"
RECONCILE_ATHLETE = "loadmon.reconcile_athlete"
EVALUATE_ALL = "loadmon.evaluate_all"
EVALUATE_ATHLETE = "loadmon.evaluate_athlete"
DELIVER = "loadmon.deliver"
IMPORT_WATCHED = "loadmon.import_watched"
HOUSEKEEPING = "loadmon.housekeeping"
MORNING = "loadmon.morning_messages"
STRAVA_EVENTS = "loadmon.strava_events"
FILL_ALL = "loadmon.fill_all"
TASK_NAMES = (SYNC_ALL, SYNC_ATHLETE, RECONCILE_ALL, RECONCILE_ATHLETE, EVALUATE_ALL, EVALUATE_ATHLETE, DELIVER,
              IMPORT_WATCHED, HOUSEKEEPING, MORNING, STRAVA_EVENTS, FILL_ALL)
# The task that runs each scheduled job (the schedule itself: loadmon.service.schedule.job_specs).
JOB_TASKS = {jobs.JOB_SYNC: SYNC_ALL, jobs.JOB_IMPORT: IMPORT_WATCHED, jobs.JOB_DELIVER: DELIVER,
             jobs.JOB_RECONCILE: RECONCILE_ALL, jobs.JOB_HOUSEKEEPING: HOUSEKEEPING, jobs.JOB_MORNING: MORNING,
             jobs.JOB_STRAVA_EVENTS: STRAVA_EVENTS, jobs.JOB_FILL: FILL_ALL}
LOCK_RETRIES = 3


# ---------------------------------------------------------------------------- markers
def _marker(kind: str, key: int | str) -> str:
    return f"{runtime.config().worker.key_prefix}loadmon:pending:{kind}:{key}"


def _marker_ttl() -> int:
    return 2 * runtime.config().worker.visibility_timeout_s


def claim_marker(kind: str, key: int | str) -> bool:
    """True when no ``kind`` task for ``key`` was queued (and now one is marked as queued)."""
    return bool(runtime.redis_client().set(_marker(kind, key), "1", nx=True, ex=_marker_ttl()))


def clear_marker(kind: str, key: int | str) -> None:
    try:
        runtime.redis_client().delete(_marker(kind, key))
    except Exception as exc:
        log.warning("worker.marker_clear_failed", kind=kind, key=str(key), error=type(exc).__name__)


# ------------------------------------------------------------------------------ tasks
# Module-level functions, registered on each app by name: a task reaches the others through
# its own app (``self.app.tasks[NAME]``), never through a closure over another app.
def _enqueue_once(task: Task, kind: str, key: int | str, *args: Any) -> bool:
    if not claim_marker(kind, key):
        return False
    try:
        task.apply_async(args=args)
    except Exception:
        clear_marker(kind, key)
        raise
    return True


def _fan_out(self: Task, name: str, kind: str, ids: list[int]) -> dict[str, Any]:
    task = self.app.tasks[name]
    queued = [aid for aid in ids if _enqueue_once(task, kind, aid, aid)]
    out = {"athletes": len(ids), "enqueued": len(queued), "already_queued": len(ids) - len(queued)}
    log.info("worker.fan_out", task=name, **out)
    return out


def _wake_delivery(self: Task) -> None:
    _enqueue_once(self.app.tasks[DELIVER], "deliver", "all")


def _per_athlete(self: Task, kind: str, athlete_id: int, run: Any) -> dict[str, Any]:
    svc = runtime.service()
    result = run(svc, athlete_id)
    if result is None:  # another worker holds this athlete right now
        try:
            raise self.retry(countdown=runtime.config().worker.lock_retry_s, max_retries=LOCK_RETRIES)
        except MaxRetriesExceededError:
            clear_marker(kind, athlete_id)
            log.info("worker.athlete_busy_dropped", task=self.name, athlete_id=athlete_id, retries=LOCK_RETRIES)
            return {"athlete_id": athlete_id, "outcome": "busy"}
    clear_marker(kind, athlete_id)
    if result.outcome == "ok":
        _wake_delivery(self)
    return {"athlete_id": athlete_id, "outcome": result.outcome}


def sync_athlete(self: Task, athlete_id: int) -> dict[str, Any]:
    """Strava sync of one athlete (then the rules), under the athlete's lock."""
    return _per_athlete(self, "sync", int(athlete_id), distributed.sync_athlete)


def sync_all(self: Task) -> dict[str, Any]:
    """One sync task per connected athlete (not twice while one is queued)."""
    return _fan_out(self, SYNC_ATHLETE, "sync", distributed.connected_athletes(runtime.service()))


def reconcile_athlete(self: Task, athlete_id: int) -> dict[str, Any]:
    """The nightly re-read of one athlete's recent Strava days, under the athlete's lock."""
    return _per_athlete(self, "reconcile", int(athlete_id), distributed.reconcile_athlete)


def reconcile_all(self: Task) -> dict[str, Any]:
    return _fan_out(self, RECONCILE_ATHLETE, "reconcile", distributed.connected_athletes(runtime.service()))


def evaluate_athlete(self: Task, athlete_id: int) -> dict[str, Any]:
    """The alert rules for one athlete, under the athlete's lock."""
    return _per_athlete(self, "evaluate", int(athlete_id), distributed.evaluate_athlete)


def evaluate_all(self: Task) -> dict[str, Any]:
    return _fan_out(self, EVALUATE_ATHLETE, "evaluate", distributed.all_athletes(runtime.service()))


def deliver(self: Task) -> dict[str, Any]:
    """Flush the outbox. The marker is cleared first: alerts stored meanwhile wake another run."""
    clear_marker("deliver", "all")
    result = distributed.deliver(runtime.service())
    return {"outcome": result.outcome, "sent": result.counts.get("sent", 0)}


def import_watched(self: Task) -> dict[str, Any]:
    result = distributed.import_watched(runtime.service())
    if result is None:
        return {"outcome": "busy"}
    if result.then:
        _wake_delivery(self)
    return {"outcome": result.outcome}


def housekeeping(self: Task) -> dict[str, Any]:
    return {"outcome": distributed.housekeeping(runtime.service()).outcome}


def fill_all(self: Task) -> dict[str, Any]:
    """The Strava streams fill, athlete after athlete in this one task (it only uses spare budget)."""
    return {"outcome": jobs.fill_all(runtime.service()).outcome}


def morning_messages(self: Task) -> dict[str, Any]:
    result = distributed.morning_messages(runtime.service())
    if result.counts.get("queued"):
        _wake_delivery(self)
    return {"outcome": result.outcome, "queued": result.counts.get("queued", 0)}


def strava_events(self: Task) -> dict[str, Any]:
    result = distributed.strava_events(runtime.service())
    if result.counts.get("done"):
        _wake_delivery(self)
    return {"outcome": result.outcome, "done": result.counts.get("done", 0)}


_TASKS = {SYNC_ALL: sync_all, SYNC_ATHLETE: sync_athlete, RECONCILE_ALL: reconcile_all,
          RECONCILE_ATHLETE: reconcile_athlete, EVALUATE_ALL: evaluate_all, EVALUATE_ATHLETE: evaluate_athlete,
          DELIVER: deliver, IMPORT_WATCHED: import_watched, HOUSEKEEPING: housekeeping, MORNING: morning_messages,
          STRAVA_EVENTS: strava_events, FILL_ALL: fill_all}
_PER_ATHLETE = {SYNC_ATHLETE, RECONCILE_ATHLETE, EVALUATE_ATHLETE}


def register(app: Celery) -> dict[str, Task]:
    """Define loadmon's tasks on ``app``; returns them by name."""
    out = {}
    for name, fn in _TASKS.items():
        opts: dict[str, Any] = {"name": name, "bind": True}
        if name in _PER_ATHLETE:
            opts["max_retries"] = LOCK_RETRIES
        out[name] = app.task(**opts)(fn)
    return out


@worker_process_shutdown.connect
def _close_service(**_kw: Any) -> None:
    runtime.close()


__all__ = ["DELIVER", "EVALUATE_ALL", "EVALUATE_ATHLETE", "FILL_ALL", "HOUSEKEEPING", "IMPORT_WATCHED", "JOB_TASKS", "LOCK_RETRIES",
           "RECONCILE_ALL", "RECONCILE_ATHLETE", "STRAVA_EVENTS", "SYNC_ALL", "SYNC_ATHLETE", "TASK_NAMES", "claim_marker",
           "clear_marker", "register"]
