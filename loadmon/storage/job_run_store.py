"""The Store's job runs (daemon health); the overview, clean-up and pruning are in
:mod:`loadmon.storage.jobruns`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loadmon.errors import NotFoundError
from loadmon.storage.core import StoreCore
from loadmon.storage.models import JobRunRow


class JobRunStoreMixin(StoreCore):
    """Job runs (daemon health)."""

    # -- job runs (daemon health) -----------------------------------------------------------
    def start_job_run(self, job: str, *, athlete_id: int | None, started_at: datetime,
                      counts: dict[str, Any] | None = None) -> int:
        with self.session() as s:
            row = JobRunRow(job=job, athlete_id=athlete_id, started_at=started_at, outcome="running", counts=counts or {})
            s.add(row)
            s.flush()
            return row.id

    def finish_job_run(self, run_id: int, *, outcome: str, finished_at: datetime, counts: dict[str, Any] | None = None,
                       error: str | None = None) -> None:
        with self.session() as s:
            row = s.get(JobRunRow, run_id)
            if row is None:
                raise NotFoundError(f"no job run {run_id}")
            row.outcome = outcome
            row.finished_at = finished_at
            row.counts = counts or {}
            row.error = error

    def last_job_runs(self) -> dict[str, dict[str, Any]]:
        """The latest run and the latest error of each job (over all athletes), from the grouped
        query of :func:`loadmon.storage.jobruns.job_run_overview` (no scan of the whole table)."""
        from loadmon.storage.jobruns import job_run_overview

        out: dict[str, dict[str, Any]] = {}
        for entry in job_run_overview(self):
            info = out.setdefault(entry.job, {"job": entry.job, "last_error": None, "last_error_at": None})
            last, err = entry.last, entry.last_error
            if last and last.id >= info.get("_id", -1):
                info.update({k: getattr(last, k) for k in ("started_at", "finished_at", "outcome", "counts", "error",
                                                          "athlete_id")})
                info["_id"] = last.id
            if err and err.id >= info.get("_err_id", -1):
                info["last_error"] = err.error
                info["last_error_at"] = err.finished_at or err.started_at
                info["_err_id"] = err.id
        for info in out.values():
            info.pop("_id", None)
            info.pop("_err_id", None)
        return out
