"""Job-run bookkeeping beyond Store.start_job_run / finish_job_run: the health overview,
crash clean-up and pruning (the daemon records a run every few seconds, so the table is
pruned daily and every query here reads one group's latest rows, not the whole history).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from loadmon.domain import JobRun, JobRunOverview
from loadmon.storage.models import JobRunRow
from loadmon.storage.rows import rowcount


class Store(Protocol):
    """What these functions need of :class:`loadmon.storage.Store` (named here, not imported: no cycle)."""

    def session(self) -> AbstractContextManager[Session]: ...


def _as_record(row: JobRunRow | None) -> JobRun | None:
    if row is None:
        return None
    return JobRun(id=row.id, job=row.job, athlete_id=row.athlete_id, started_at=row.started_at,
                  finished_at=row.finished_at, outcome=row.outcome, counts=row.counts or {}, error=row.error)


def job_run_overview(store: Store) -> list[JobRunOverview]:
    """One entry per (job, athlete): ``last`` (the latest run, possibly still running),
    ``last_finished`` (the latest run that ended) and ``last_error`` (the latest failed run)."""
    with store.session() as s:
        def latest_ids(*conds: Any) -> dict[tuple[str, int | None], int]:
            q = select(JobRunRow.job, JobRunRow.athlete_id, func.max(JobRunRow.id)).group_by(JobRunRow.job, JobRunRow.athlete_id)
            if conds:
                q = q.where(*conds)
            return {(job, athlete): rid for job, athlete, rid in s.execute(q)}

        last = latest_ids()
        finished = latest_ids(JobRunRow.outcome != "running")
        errors = latest_ids(JobRunRow.outcome == "error")
        wanted = set(last.values()) | set(finished.values()) | set(errors.values())
        rows = {r.id: r for r in s.scalars(select(JobRunRow).where(JobRunRow.id.in_(wanted)))} if wanted else {}
        out = []
        for key in sorted(last, key=lambda k: (k[0], k[1] if k[1] is not None else -1)):
            out.append(JobRunOverview(job=key[0], athlete_id=key[1], last=_as_record(rows.get(last[key])),
                                      last_finished=_as_record(rows.get(finished.get(key, -1))),
                                      last_error=_as_record(rows.get(errors.get(key, -1)))))
        return out


def interrupt_running_job_runs(store: Store, *, finished_at: datetime, jobs: list[str] | None = None) -> int:
    """Close runs left ``running`` by a process that died (called by a daemon that holds the lock)."""
    with store.session() as s:
        q = update(JobRunRow).where(JobRunRow.outcome == "running")
        if jobs is not None:
            q = q.where(JobRunRow.job.in_(jobs))
        res = s.execute(q.values(outcome="interrupted", finished_at=finished_at,
                                 error="the process stopped before this run finished"))
        return rowcount(res)


def prune_job_runs(store: Store, *, before: datetime) -> int:
    """Delete runs started before ``before``, keeping the latest run, the latest finished run and
    the latest error of every (job, athlete) so ``daemon status`` still knows them."""
    with store.session() as s:
        keep: set[int] = set()
        for cond in (None, JobRunRow.outcome != "running", JobRunRow.outcome == "error"):
            q = select(func.max(JobRunRow.id)).group_by(JobRunRow.job, JobRunRow.athlete_id)
            if cond is not None:
                q = q.where(cond)
            keep.update(s.scalars(q))
        gone = delete(JobRunRow).where(JobRunRow.started_at < before)
        if keep:
            gone = gone.where(and_(JobRunRow.id.not_in(keep)))
        res = s.execute(gone)
        return rowcount(res)


__all__ = ["interrupt_running_job_runs", "job_run_overview", "prune_job_runs"]
