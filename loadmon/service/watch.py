"""The watched-folder scan: import new FIT files from ``fit.watch_dirs``, then evaluate the rules.

Scheduled every ``daemon.watch_interval_s`` (:mod:`loadmon.service.schedule`); each scan is one
recorded run (:func:`loadmon.service.jobrunner.run_job`) of the job ``import_watched``. What the
scanner saw last time is ``svc.watch_state`` (:class:`loadmon.service.context.WatchState`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from loadmon.errors import LoadmonError
from loadmon.logs import get_logger
from loadmon.service.context import SeenFile, Service, WatchState
from loadmon.service.jobrunner import (
    JOB_IMPORT,
    BodyResult,
    JobResult,
    error_text,
    optional_module,
    run_job,
    safe_text,
    stopping,
    with_then,
)
from loadmon.service.scheduled_jobs import evaluate

log = get_logger("loadmon.jobs")

#: What a watched folder imports: the files `loadmon import` reads (connectors.fit.files), and zips
WATCH_SUFFIXES = (".fit", ".fit.gz", ".gpx", ".gpx.gz", ".tcx", ".tcx.gz", ".zip")
SETTLE_S = 2.0  # a file modified less than this long ago may still be being written


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
    state: WatchState = svc.watch_state
    dirs = [Path(d).expanduser() for d in svc.config.fit.watch_dirs]

    def body() -> BodyResult:
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
                    state.seen[key] = SeenFile(size=obs[0], mtime_ns=obs[1], done=False)
                    counts["pending"] += 1
                    continue
                ready.append(path)
        for key in set(state.seen) - present:
            del state.seen[key]
        if ready:
            imports = optional_module("imports", "FIT import")
            try:
                athlete = svc.athlete(None)
            except LoadmonError as exc:
                raise LoadmonError(f"watched folders import into the default athlete (athlete.default_name): {exc}") from None
            for path in ready:
                if stopping(svc):
                    counts["stopped"] = True
                    break
                now_stat = path.stat() if path.exists() else None
                retry: str | None = None  # why this file must be read again at the next scan
                try:
                    summary = imports.import_paths(svc, athlete, [path])
                except Exception as exc:
                    counts["failed"] += 1
                    retry = error_text(exc, svc)
                else:
                    d = summary.as_dict()
                    for k in ("imported", "duplicate", "skipped", "failed", "new_activities"):
                        counts[k] += d[k]
                    for f in d["failures"]:
                        log.warning("import.file_failed", file=f["file"], reason=f["reason"])
                    for n in d["notices"]:  # the CLI prints them from the summary; the daemon logs them
                        log.warning("import.file_notice", file=n["file"], notice=n["notice"])
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
                if now_stat is not None:
                    state.seen[str(path)] = SeenFile(size=now_stat.st_size, mtime_ns=now_stat.st_mtime_ns, done=retry is None,
                                                     failures=failures)
        return BodyResult(counts=counts, touched=frozenset(touched), error="; ".join(problems) if problems else None)

    result = run_job(svc, JOB_IMPORT, body)
    if result.touched_athlete_ids:
        result = with_then(result, evaluate(svc, result.touched_athlete_ids))
    return result


__all__ = ["SETTLE_S", "WATCH_SUFFIXES", "import_watched"]
