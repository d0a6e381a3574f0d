"""Recorded job runs: what every background job (daemon or worker) is wrapped in.

:func:`run_job` runs a job body, records the run in the ``job_runs`` table (job, athlete, start,
end, outcome ``ok | error | skipped``, counts, error text without secrets) and logs it as one
JSON line. A body that raises is logged and recorded as ``error`` and never propagates: a
scheduler loop calling jobs cannot be killed by one of them. The job bodies themselves are in
:mod:`loadmon.service.scheduled_jobs` and :mod:`loadmon.service.watch`.

Long jobs check the stop flag (``svc.stop``, :func:`stopping`) between units of work (one file,
one athlete); the Strava sync checks it between pages.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from loadmon.errors import LoadmonError
from loadmon.logs import get_logger, mask_text
from loadmon.service.context import Service

log = get_logger("loadmon.jobs")

# Job names as recorded in job_runs and shown by `loadmon daemon status`.
JOB_SYNC = "strava_sync"
JOB_IMPORT = "import_watched"
JOB_EVALUATE = "evaluate"
JOB_DELIVER = "deliver"
JOB_RECONCILE = "reconcile"
JOB_HOUSEKEEPING = "housekeeping"
JOB_MORNING = "morning_messages"
JOB_STRAVA_EVENTS = "strava_events"  # Strava webhook events recorded by the web app
JOB_FILL = "strava_fill"  # descents from the streams of older Strava runs, from spare budget
JOB_DAEMON = "daemon"  # one row per daemon process: started_at = start, finished_at = clean stop

DAEMON_JOBS = (JOB_SYNC, JOB_IMPORT, JOB_EVALUATE, JOB_DELIVER, JOB_RECONCILE, JOB_HOUSEKEEPING, JOB_MORNING, JOB_STRAVA_EVENTS, JOB_FILL,
               JOB_DAEMON)

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, kw_only=True)
class JobResult:
    job: str
    outcome: str  # ok | error | skipped
    athlete_id: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    touched_athlete_ids: frozenset[int] = frozenset()
    then: tuple[JobResult, ...] = ()  # follow-up runs (the evaluation after an import)

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "athlete_id": self.athlete_id, "outcome": self.outcome, "counts": self.counts,
                "error": self.error, "then": [t.as_dict() for t in self.then]}


class JobSkipped(Exception):
    """Raised inside a job body: record the run as ``skipped`` with this reason."""

    def __init__(self, reason: str, counts: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.counts = counts or {}


@dataclass(frozen=True, kw_only=True)
class BodyResult:
    """What a job body returns when plain counts are not enough."""

    counts: dict[str, Any]
    touched: frozenset[int] = frozenset()  # athletes whose activities changed (their rules are evaluated next)
    error: str | None = None  # a partial failure: the run is recorded as error with these counts


# ------------------------------------------------------------------------------ stop flag
def stop_event(svc: Service) -> threading.Event:
    """The process-wide stop flag long jobs check between units of work (``svc.stop``)."""
    return svc.stop


def stopping(svc: Service) -> bool:
    return svc.stop.is_set()


# -------------------------------------------------------------------------- secret hygiene
def safe_text(text: str, svc: Service | None = None) -> str:
    """``text`` as recorded in a job run: masked by :func:`loadmon.logs.mask_text` (the scheme the
    logs use), plus the configured secret values, and cut to ``MAX_ERROR_CHARS``."""
    secrets = ((svc.config.strava.client_secret, svc.config.strava.webhook_verify_token, svc.config.alerts.email.password)
               if svc is not None else ())
    return mask_text(text, secrets)[:MAX_ERROR_CHARS]


def error_text(exc: BaseException, svc: Service | None = None) -> str:
    """A one-line description of ``exc`` fit for the job_runs table and logs (no secrets)."""
    if isinstance(exc, LoadmonError):
        text = str(exc) or type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return safe_text(text, svc)


def json_safe(counts: Any) -> dict[str, Any]:
    """``counts`` as JSON-storable data (datetimes as ISO text, sets as sorted lists)."""
    if counts is None:
        return {}
    if not isinstance(counts, dict):
        counts = {"result": counts}
    return json.loads(json.dumps(counts, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else
                                 sorted(o) if isinstance(o, (set, frozenset)) else str(o)))


# ------------------------------------------------------------------------- recorded runs
def run_job(svc: Service, job: str, body: Callable[[], BodyResult | dict[str, Any] | None], *,
            athlete_id: int | None = None) -> JobResult:
    """Run ``body`` as one recorded, logged run of ``job``. Never raises an Exception."""
    started = svc.clock()
    t0 = time.monotonic()
    run_id: int | None = None
    try:
        run_id = svc.store.start_job_run(job, athlete_id=athlete_id, started_at=started)
    except Exception as exc:
        log.error("job.record_failed", job=job, athlete_id=athlete_id, phase="start", error=error_text(exc, svc))
    touched: frozenset[int] = frozenset()
    error: str | None = None
    raised = False
    try:
        out = body()
        if isinstance(out, BodyResult):
            counts, touched, error = out.counts, out.touched, out.error
        else:
            counts = out or {}
        outcome = "error" if error else "ok"
    except JobSkipped as exc:
        outcome, counts = "skipped", {**exc.counts, "reason": exc.reason}
    except Exception as exc:
        outcome, counts, error, raised = "error", {}, error_text(exc, svc), True
        tb = safe_text("".join(traceback.format_exception(exc)), svc)
        log.error("job.failed", job=job, athlete_id=athlete_id, counts=counts, error=error, traceback=tb,
                  duration_s=round(time.monotonic() - t0, 3))
    counts = json_safe(counts)
    if run_id is not None:
        try:
            svc.store.finish_job_run(run_id, outcome=outcome, finished_at=svc.clock(), counts=counts, error=error)
        except Exception as exc:
            log.error("job.record_failed", job=job, athlete_id=athlete_id, phase="finish", error=error_text(exc, svc))
    duration = round(time.monotonic() - t0, 3)
    if outcome == "ok":  # a scan that found nothing new is logged at debug (it runs every few seconds)
        level = log.info if _did_something(counts) else log.debug
        level("job.ok", job=job, athlete_id=athlete_id, counts=counts, duration_s=duration)
    elif outcome == "skipped":
        log.info("job.skipped", job=job, athlete_id=athlete_id, counts=counts, duration_s=duration)
    elif not raised:  # a partial failure reported by the body (raised ones were logged above)
        log.error("job.failed", job=job, athlete_id=athlete_id, counts=counts, error=error, duration_s=duration)
    return JobResult(job=job, outcome=outcome, athlete_id=athlete_id, counts=counts, error=error, touched_athlete_ids=touched)


def _did_something(counts: dict[str, Any]) -> bool:
    return any(v for k, v in counts.items() if k != "unchanged" and not isinstance(v, bool)) or not counts


def with_then(result: JobResult, *more: JobResult) -> JobResult:
    """``result`` with the follow-up runs ``more`` appended."""
    return replace(result, then=result.then + more)


def optional_module(name: str, what: str) -> Any:
    """Import loadmon.service.<name>, or skip the job while that feature is not installed."""
    full = f"loadmon.service.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name in (full, "connectors.strava", "alerts.rules") or (exc.name or "").startswith(("connectors.", "alerts.")):
            raise JobSkipped(f"{what} is not available in this installation ({exc.name} missing)") from None
        raise


__all__ = [
    "DAEMON_JOBS", "JOB_DAEMON", "JOB_DELIVER", "JOB_EVALUATE", "JOB_HOUSEKEEPING", "JOB_IMPORT", "JOB_MORNING", "JOB_RECONCILE",
    "JOB_STRAVA_EVENTS", "JOB_FILL", "JOB_SYNC", "MAX_ERROR_CHARS", "BodyResult", "JobResult", "JobSkipped", "error_text", "json_safe",
    "optional_module", "run_job", "safe_text", "stop_event", "stopping", "with_then",
]
