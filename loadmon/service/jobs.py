"""Background job functions: what the daemon (and later a worker) runs on a schedule.

Every function takes the :class:`Service` and returns :class:`JobResult` (or a list of them).
Each run is recorded in the ``job_runs`` table (job, athlete, start, end, outcome
``ok | error | skipped``, counts, error text without secrets) and logged as one JSON line.
A job that raises is logged and recorded as ``error`` and never propagates: a scheduler
loop calling these functions cannot be killed by one of them.

Long jobs check the stop flag :func:`stop_event` (``svc.extras["stop"]``) between units of
work (one file, one athlete); the Strava sync checks it between pages.

Rule evaluation follows every import that touched activities (:func:`import_watched` calls
:func:`evaluate`); the Strava sync evaluates the rules itself for the athletes it touched.
The Strava and alerting services are imported lazily: while one is absent, its jobs are
recorded as ``skipped`` with the reason.
"""

from __future__ import annotations

import dataclasses

import json
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from loadmon.errors import LoadmonError, RateLimitExhausted
from loadmon.logs import get_logger
from loadmon.service.context import Service

log = get_logger("loadmon.jobs")

# Job names as recorded in job_runs and shown by `loadmon daemon status`.
JOB_SYNC = "strava_sync"
JOB_IMPORT = "import_watched"
JOB_EVALUATE = "evaluate"
JOB_DELIVER = "deliver"
JOB_RECONCILE = "reconcile"
JOB_HOUSEKEEPING = "housekeeping"
JOB_DAEMON = "daemon"  # one row per daemon process: started_at = start, finished_at = clean stop

DAEMON_JOBS = (JOB_SYNC, JOB_IMPORT, JOB_EVALUATE, JOB_DELIVER, JOB_RECONCILE, JOB_HOUSEKEEPING, JOB_DAEMON)

WATCH_SUFFIXES = (".fit", ".fit.gz", ".zip")
SETTLE_S = 2.0  # a file modified less than this long ago may still be being written
KEEP_JOB_RUNS_DAYS = 14
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, kw_only=True)
class JobResult:
    job: str
    outcome: str  # ok | error | skipped
    athlete_id: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    touched_athlete_ids: frozenset[int] = frozenset()
    then: tuple["JobResult", ...] = ()  # follow-up runs (the evaluation after an import)

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
class _Body:
    counts: dict[str, Any]
    touched: frozenset[int] = frozenset()
    error: str | None = None  # a partial failure: the run is recorded as error with these counts


# ------------------------------------------------------------------------------ stop flag
def stop_event(svc: Service) -> threading.Event:
    """The process-wide stop flag long jobs check between units of work."""
    ev = svc.extras.get("stop")
    if ev is None:
        ev = svc.extras.setdefault("stop", threading.Event())
    return ev


def stopping(svc: Service) -> bool:
    ev = svc.extras.get("stop")
    return bool(ev is not None and ev.is_set())


# -------------------------------------------------------------------------- secret hygiene
_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s/]+@"), r"\1:***@"),
    (re.compile(r"(?i)\b(access_token|refresh_token|client_secret|password|passwd|secret|token|code|api_key|apikey)"
                r"(['\"]?\s*[=:]\s*['\"]?)[^\s&'\",}]+"), r"\1\2***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+"), r"\1 ***"),
)


def safe_text(text: str, svc: Service | None = None) -> str:
    """``text`` with credentials masked (URL passwords, token=..., Bearer ..., configured secrets)."""
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    if svc is not None:
        cfg = svc.config
        for secret in (cfg.strava.client_secret, cfg.alerts.email.password):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
    return text[:MAX_ERROR_CHARS]


def error_text(exc: BaseException, svc: Service | None = None) -> str:
    """A one-line description of ``exc`` fit for the job_runs table and logs (no secrets)."""
    if isinstance(exc, LoadmonError):
        text = str(exc) or type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return safe_text(text, svc)


def _json_safe(counts: Any) -> dict[str, Any]:
    if counts is None:
        return {}
    if not isinstance(counts, dict):
        counts = {"result": counts}
    return json.loads(json.dumps(counts, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else
                                 sorted(o) if isinstance(o, (set, frozenset)) else str(o)))


# ------------------------------------------------------------------------- recorded runs
def run_job(svc: Service, job: str, body: Callable[[], _Body | dict[str, Any] | None], *,
            athlete_id: int | None = None) -> JobResult:
    """Run ``body`` as one recorded, logged run of ``job``. Never raises an Exception."""
    started = svc.clock()
    t0 = time.monotonic()
    run_id: int | None = None
    try:
        run_id = svc.store.start_job_run(job, athlete_id=athlete_id, started_at=started)
    except Exception as exc:  # noqa: BLE001 - the database may be down: run anyway, say so
        log.error("job.record_failed", job=job, athlete_id=athlete_id, phase="start", error=error_text(exc, svc))
    touched: frozenset[int] = frozenset()
    error: str | None = None
    raised = False
    try:
        out = body()
        if isinstance(out, _Body):
            counts, touched, error = out.counts, out.touched, out.error
        else:
            counts = out or {}
        outcome = "error" if error else "ok"
    except JobSkipped as exc:
        outcome, counts = "skipped", {**exc.counts, "reason": exc.reason}
    except Exception as exc:  # noqa: BLE001 - a job never kills its caller
        outcome, counts, error, raised = "error", {}, error_text(exc, svc), True
        tb = safe_text("".join(traceback.format_exception(exc)), svc)
        log.error("job.failed", job=job, athlete_id=athlete_id, counts=counts, error=error, traceback=tb,
                  duration_s=round(time.monotonic() - t0, 3))
    counts = _json_safe(counts)
    if run_id is not None:
        try:
            svc.store.finish_job_run(run_id, outcome=outcome, finished_at=svc.clock(), counts=counts, error=error)
        except Exception as exc:  # noqa: BLE001
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


def _optional_module(name: str, what: str) -> Any:
    """Import loadmon.service.<name>, or skip the job while that feature is not installed."""
    import importlib

    full = f"loadmon.service.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name in (full, "connectors.strava", "alerts.rules") or (exc.name or "").startswith(("connectors.", "alerts.")):
            raise JobSkipped(f"{what} is not available in this installation ({exc.name} missing)") from None
        raise


# ------------------------------------------------------------------------------- Strava
def sync_athlete(svc: Service, athlete_id: int) -> JobResult:
    """Incremental Strava sync (with reconciliation of recent days) for one athlete. The sync
    evaluates the alert rules itself for the athletes it touched."""
    def body() -> dict[str, Any]:
        strava_sync = _optional_module("strava_sync", "Strava sync")
        athlete = svc.store.get_athlete(athlete_id=athlete_id)
        try:
            return strava_sync.sync(svc, athlete, wait=False)
        except RateLimitExhausted as exc:
            raise JobSkipped(f"Strava request budget spent: {exc}", {"resume_at": exc.resume_at}) from None
    return run_job(svc, JOB_SYNC, body, athlete_id=athlete_id)


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
                result = dataclasses.replace(result, then=(*result.then, evaluate(svc, [athlete_id])))
        results.append(result)
    return results


def reconcile_athlete(svc: Service, athlete_id: int, *, days: int | None = None) -> JobResult:
    def body() -> dict[str, Any]:
        strava_sync = _optional_module("strava_sync", "Strava sync")
        athlete = svc.store.get_athlete(athlete_id=athlete_id)
        try:
            return strava_sync.reconcile(svc, athlete, days=days)
        except RateLimitExhausted as exc:
            raise JobSkipped(f"Strava request budget spent: {exc}", {"resume_at": exc.resume_at}) from None
    return run_job(svc, JOB_RECONCILE, body, athlete_id=athlete_id)


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
    except Exception as exc:  # noqa: BLE001 - recorded as a failed run of the job
        failure = exc

    def body() -> None:
        raise failure
    run_job(svc, job, body)
    return []


# ------------------------------------------------------------------------------- alerts
_evaluate_lock = threading.Lock()  # one evaluation at a time in this process (cooldowns read-then-write)


def evaluate(svc: Service, athlete_ids: Iterable[int]) -> JobResult:
    """Evaluate the alert rules for these athletes (new alerts go to the outbox)."""
    ids = sorted(set(athlete_ids))

    def body() -> dict[str, Any]:
        alerting = _optional_module("alerting", "alert evaluation")
        with _evaluate_lock:
            counts = alerting.evaluate(svc, ids)
        return {"athletes": ids, **(counts or {})}
    return run_job(svc, JOB_EVALUATE, body, athlete_id=ids[0] if len(ids) == 1 else None)


def deliver(svc: Service) -> JobResult:
    """Send the outbox deliveries that are due (retries with back-off are the outbox's)."""
    def body() -> dict[str, Any]:
        alerting = _optional_module("alerting", "alert delivery")
        return alerting.deliver_due(svc)
    return run_job(svc, JOB_DELIVER, body)


# ------------------------------------------------------------------------ watched folders
@dataclass
class _Seen:
    size: int
    mtime_ns: int
    done: bool
    failures: int = 0  # scans in a row whose import of this file failed for a transient reason


@dataclass
class WatchState:
    """What the scanner saw last time, per file path (kept in ``svc.extras["watch_state"]``)."""

    seen: dict[str, _Seen] = field(default_factory=dict)


def _watch_state(svc: Service) -> WatchState:
    st = svc.extras.get("watch_state")
    if st is None:
        st = svc.extras.setdefault("watch_state", WatchState())
    return st


def _is_candidate(name: str) -> bool:
    low = name.lower()
    return not low.startswith((".", "~")) and low.endswith(WATCH_SUFFIXES)


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if _is_candidate(name):
                yield Path(dirpath) / name


def import_watched(svc: Service, *, wall_clock: Callable[[], float] = time.time, settle_s: float = SETTLE_S) -> JobResult:
    """Import new files from ``fit.watch_dirs`` (recursive) for the default athlete.

    A file is read once per (size, mtime): unchanged files are skipped without being read,
    and a file still being written (modified less than ``settle_s`` ago, or whose size or
    mtime changed since the previous scan) waits for the next scan. The import itself is
    idempotent by content hash. When activities were added, the alert rules are evaluated.

    A file whose import failed for a reason other than its content (the database unreachable
    or the connection lost: a StorageError, or an unexpected exception) is not marked done: the
    next scan retries it, and the run is recorded as ``error`` naming the file and how many
    scans in a row it failed, so ``daemon status`` shows it until it is imported. A corrupt or
    unsupported file is read once and reported (``failed``); it does not fail the run.
    """
    state = _watch_state(svc)
    dirs = [Path(d).expanduser() for d in svc.config.fit.watch_dirs]

    def body() -> _Body:
        counts = {"files": 0, "imported": 0, "duplicate": 0, "skipped": 0, "failed": 0, "new_activities": 0,
                  "pending": 0, "unchanged": 0, "retry": 0}
        problems: list[str] = []
        touched: set[int] = set()
        present: set[str] = set()
        ready: list[Path] = []
        now = wall_clock()
        for root in dirs:
            if not root.is_dir():
                problems.append(f"watched folder {root} does not exist or is not a folder")
                continue
            for path in _walk(root):
                key = str(path)
                try:
                    st = path.stat()
                except OSError:  # vanished between listing and stat
                    continue
                present.add(key)
                prev = state.seen.get(key)
                obs = (st.st_size, st.st_mtime_ns)
                if prev is not None and prev.done and (prev.size, prev.mtime_ns) == obs:
                    counts["unchanged"] += 1
                    continue
                fresh = now - st.st_mtime < settle_s
                changed = prev is not None and (prev.size, prev.mtime_ns) != obs
                if fresh or changed:
                    state.seen[key] = _Seen(size=obs[0], mtime_ns=obs[1], done=False)
                    counts["pending"] += 1
                    continue
                ready.append(path)
        for key in set(state.seen) - present:
            del state.seen[key]
        if ready:
            imports = _optional_module("imports", "FIT import")
            try:
                athlete = svc.athlete(None)
            except LoadmonError as exc:
                raise LoadmonError(f"watched folders import into the default athlete (athlete.default_name): {exc}") from None
            for path in ready:
                if stopping(svc):
                    counts["stopped"] = True
                    break
                st = path.stat() if path.exists() else None
                retry: str | None = None  # why this file must be read again at the next scan
                try:
                    summary = imports.import_paths(svc, athlete, [path])
                except Exception as exc:  # noqa: BLE001 - one file never stops the scan
                    counts["failed"] += 1
                    retry = error_text(exc, svc)
                else:
                    d = summary.as_dict()
                    for k in ("imported", "duplicate", "skipped", "failed", "new_activities"):
                        counts[k] += d[k]
                    for f in d["failures"]:
                        log.warning("import.file_failed", file=f["file"], reason=f["reason"])
                    touched.update(summary.athlete_ids)
                    transient = [f.reason or "database error" for f in summary.failed if f.transient]
                    retry = "; ".join(transient) if transient else None
                counts["files"] += 1
                prev = state.seen.get(str(path))
                failures = (prev.failures if prev else 0) + 1 if retry else 0
                if retry:
                    counts["retry"] += 1
                    problems.append(f"{path}: not imported ({failures} scan(s) in a row), retried at the next scan: "
                                    f"{safe_text(retry, svc)}")
                if st is not None:
                    state.seen[str(path)] = _Seen(size=st.st_size, mtime_ns=st.st_mtime_ns, done=retry is None,
                                                  failures=failures)
        return _Body(counts=counts, touched=frozenset(touched), error="; ".join(problems) if problems else None)

    result = run_job(svc, JOB_IMPORT, body)
    if result.touched_athlete_ids:
        result = _with_then(result, evaluate(svc, result.touched_athlete_ids))
    return result


def _with_then(result: JobResult, *more: JobResult) -> JobResult:
    from dataclasses import replace

    return replace(result, then=result.then + more)


# --------------------------------------------------------------------------- housekeeping
def housekeeping(svc: Service, *, keep_days: int = KEEP_JOB_RUNS_DAYS) -> JobResult:
    """Prune job runs older than ``keep_days`` (the latest run and error of each job stay)."""
    from loadmon.storage.jobruns import prune_job_runs

    def body() -> dict[str, Any]:
        return {"pruned_runs": prune_job_runs(svc.store, before=svc.clock() - timedelta(days=keep_days))}
    return run_job(svc, JOB_HOUSEKEEPING, body)


def run_once(svc: Service) -> list[JobResult]:
    """One pass of every job: import watched folders, Strava sync, rule evaluation for every
    athlete, outbox delivery (``loadmon daemon --once``)."""
    results: list[JobResult] = []
    if svc.config.fit.watch_dirs:
        results.append(import_watched(svc))
    results.extend(sync_all(svc))
    if not stopping(svc):
        ids = [a.id for a in svc.store.list_athletes()]
        if ids:
            results.append(evaluate(svc, ids))
    if not stopping(svc):
        results.append(deliver(svc))
    return results


# ------------------------------------------------------------------- daemon bookkeeping
def acquire_daemon_lock(svc: Service) -> Any:
    """Take the single-instance lock of this database (a file lock next to a SQLite file, a
    PostgreSQL advisory lock otherwise). Returns an object with ``description``, ``check()``
    and ``release()``; raises DaemonLockedError naming the lock when another daemon holds it."""
    from loadmon.storage.locks import acquire_daemon_lock as _acquire

    return _acquire(svc.store)


def daemon_started(svc: Service, *, once: bool = False, counts: dict[str, Any] | None = None) -> int | None:
    """Record a daemon start (closing runs a killed daemon left open), with ``counts`` (who it
    is: :func:`loadmon.service.liveness.identity`). Returns the run id."""
    from loadmon.storage.jobruns import interrupt_running_job_runs

    now = svc.clock()
    try:
        interrupted = interrupt_running_job_runs(svc.store, finished_at=now, jobs=list(DAEMON_JOBS))
        if interrupted:
            log.warning("daemon.interrupted_runs", count=interrupted)
        return svc.store.start_job_run(JOB_DAEMON, athlete_id=None, started_at=now,
                                       counts=_json_safe({**(counts or {}), **({"once": True} if once else {})}))
    except Exception as exc:  # noqa: BLE001
        log.error("job.record_failed", job=JOB_DAEMON, phase="start", error=error_text(exc, svc))
        return None


def daemon_stopped(svc: Service, run_id: int | None, *, counts: dict[str, Any] | None = None,
                   error: str | None = None) -> None:
    if run_id is None:
        return
    try:
        svc.store.finish_job_run(run_id, outcome="error" if error else "ok", finished_at=svc.clock(),
                                 counts=_json_safe(counts), error=safe_text(error, svc) if error else None)
    except Exception as exc:  # noqa: BLE001
        log.error("job.record_failed", job=JOB_DAEMON, phase="finish", error=error_text(exc, svc))


def job_overview(svc: Service) -> list[dict[str, Any]]:
    """Per (job, athlete): the latest run, latest finished run and latest error (for health)."""
    from loadmon.storage.jobruns import job_run_overview

    return job_run_overview(svc.store)


def failed_deliveries(svc: Service) -> int:
    """How many alert deliveries gave up (``failed``): the health report warns about them."""
    return svc.store.delivery_counts().get("failed", 0)


def strava_connections(svc: Service) -> dict[int, bool]:
    """Athlete id -> needs_reauth for every athlete with a Strava connection."""
    out: dict[int, bool] = {}
    for a in svc.store.list_athletes():
        conn = svc.store.get_strava_connection(a.id)
        if conn is not None:
            out[a.id] = conn.needs_reauth
    return out


def athlete_names(svc: Service) -> dict[int, str]:
    return {a.id: a.name for a in svc.store.list_athletes()}


__all__ = [
    "JOB_DAEMON", "JOB_DELIVER", "JOB_EVALUATE", "JOB_HOUSEKEEPING", "JOB_IMPORT", "JOB_RECONCILE", "JOB_SYNC",
    "JobResult", "JobSkipped", "WatchState", "acquire_daemon_lock", "athlete_names", "daemon_started", "daemon_stopped",
    "deliver", "error_text", "evaluate", "housekeeping", "import_watched", "job_overview", "reconcile_all",
    "reconcile_athlete", "run_job", "run_once", "safe_text", "stop_event", "stopping", "strava_connections",
    "sync_all", "sync_athlete",
]
