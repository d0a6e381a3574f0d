"""Daemon health: is every scheduled job running on time, and did its last run succeed?

:func:`assess` is a plain function of the recorded runs, the schedule and the time, so
``loadmon daemon status``, a systemd check and a container HEALTHCHECK all agree. Healthy
means: the daemon ran at least once on this database, no scheduled job's last finished run
failed, and no scheduled job is overdue (its last start + interval + ``stale_after_minutes``
is in the past; a job that never ran counts from the daemon's start).

A long-running ``loadmon daemon`` must also still be running: when its last record says it
stopped, or says running while its single-instance lock is free or its process is gone
(killed, crashed), it is unhealthy at once. A ``--once`` pass (cron) and the Celery scheduler
(worker mode) are judged by their recorded runs only, as above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loadmon.config import Config
from loadmon.domain import JobRun, JobRunOverview
from loadmon.service import jobs
from loadmon.service import liveness as live
from loadmon.service.context import Service
from loadmon.service.schedule import JobSpec, job_specs


@dataclass(frozen=True, kw_only=True)
class JobHealth:
    job: str
    athlete_id: int | None
    athlete: str | None
    state: str  # ok | failed | overdue | never_ran | running | not_scheduled
    schedule: str
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    outcome: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    next_expected_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, kw_only=True)
class HealthReport:
    healthy: bool
    checked_at: datetime
    daemon: dict[str, Any]
    jobs: list[JobHealth]
    problems: list[str]
    warnings: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "checked_at": self.checked_at, "daemon": self.daemon,
                "jobs": [j.as_dict() for j in self.jobs], "problems": self.problems, "warnings": self.warnings}


def _schedule_text(spec: JobSpec | None) -> str:
    if spec is None:
        return "after each import or sync that adds activities"
    if spec.interval_s is not None:
        s = spec.interval_s
        every = f"{s / 3600:g} h" if s >= 3600 and s % 3600 == 0 else f"{s / 60:g} min" if s >= 60 and s % 60 == 0 else f"{s:g} s"
        return f"every {every}" + (f" (+ up to {spec.jitter_s} s jitter)" if spec.jitter_s else "")
    return f"daily at {spec.daily_hour_utc:02d}:00 UTC"


def assess(overview: list[JobRunOverview], cfg: Config, *, now: datetime, strava: dict[int, bool],
           names: dict[int, str], failed_deliveries: int = 0, liveness: dict[str, Any] | None = None) -> HealthReport:
    """Judge the runs in ``overview`` (from :func:`loadmon.service.jobs.job_overview`).

    ``strava`` maps athlete id -> needs_reauth for every Strava connection; ``names`` athlete
    id -> name; ``failed_deliveries`` the outbox rows that gave up (a warning, not a problem:
    the daemon itself is fine, a channel is not); ``liveness`` what
    :func:`loadmon.service.liveness.daemon_liveness` found about the last daemon's process.
    """
    stale = timedelta(minutes=cfg.daemon.stale_after_minutes)
    specs = {s.name: s for s in job_specs(cfg)}
    by_key = {(e.job, e.athlete_id): e for e in overview}
    problems: list[str] = []
    warnings: list[str] = []

    d_entry = by_key.get((jobs.JOB_DAEMON, None))
    d_last = d_entry.last if d_entry else None
    daemon: dict[str, Any] = {"ever_ran": d_last is not None}
    daemon_start: datetime | None = None
    if d_last is None:
        problems.append("the daemon never ran on this database (start it with `loadmon daemon`)")
    else:
        daemon_start = d_last.started_at
        running = d_last.outcome == "running"
        daemon.update({"started_at": daemon_start, "running": running,
                       "stopped_at": None if running else d_last.finished_at,
                       "once": bool(d_last.counts.get("once"))})
        gone = _not_running(d_last, liveness or {})
        if gone:
            daemon.update({"running": False, "not_running": gone})
            problems.append(f"the daemon is not running: {gone} (start it again: `loadmon daemon`, or its service)")

    connected = sorted(a for a, reauth in strava.items() if not reauth)
    for a, reauth in sorted(strava.items()):
        if reauth:
            warnings.append(f"athlete {names.get(a, a)} must reconnect Strava (`loadmon strava connect`): "
                            "Strava rejected the saved tokens, so this athlete is not synced")

    if failed_deliveries:
        warnings.append(f"{failed_deliveries} alert deliveries failed for good (see `loadmon alerts`): fix the channel, "
                        "then `loadmon alerts deliver --retry-failed` sends them")

    # The instances the schedule expects: (job, athlete) pairs.
    expected: list[tuple[JobSpec, int | None]] = []
    for spec in specs.values():
        if spec.per_athlete:
            expected.extend((spec, a) for a in connected)
        else:
            expected.append((spec, None))
    expected_keys = {(s.name, a) for s, a in expected}

    out: list[JobHealth] = []
    for spec, athlete_id in expected:
        out.append(_judge(spec, by_key.get((spec.name, athlete_id)), athlete_id, names, now=now, stale=stale,
                          daemon_start=daemon_start))
    for key, entry in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1] or -1)):
        if key in expected_keys or key[0] == jobs.JOB_DAEMON:
            continue
        job, athlete_id = key
        if job == jobs.JOB_EVALUATE:  # unscheduled follow-up: a failed evaluation still matters
            out.append(_judge(None, entry, athlete_id, names, now=now, stale=stale, daemon_start=daemon_start,
                              job_name=job))
        else:  # a job this configuration no longer schedules (athlete disconnected, no watch folders)
            out.append(_row(job, athlete_id, names, entry, state="not_scheduled", schedule="not scheduled"))
    for j in out:
        if j.problem:
            problems.append(j.problem)
    return HealthReport(healthy=not problems, checked_at=now, daemon=daemon, jobs=out, problems=problems, warnings=warnings)


def _not_running(d_last: JobRun, liveness: dict[str, Any]) -> str | None:
    """Why the long-running daemon of this record is not running, or None (running, or not such a daemon)."""
    counts = d_last.counts
    if counts.get("kind") != live.KIND_DAEMON:
        return None  # a --once pass, the Celery scheduler, or a record from before kinds were recorded
    pid = f"process {counts['pid']}" if counts.get("pid") else "its process"
    if d_last.outcome != "running":
        end = d_last.finished_at or d_last.started_at
        how = f" with exit status {counts['exit_status']}" if counts.get("exit_status") else ""
        why = f": {d_last.error}" if d_last.error else ""
        return f"it stopped at {end:%Y-%m-%d %H:%M:%S} UTC{how}{why}"
    if liveness.get("lock_held") is False:
        return (f"its record says running since {d_last.started_at:%Y-%m-%d %H:%M:%S} UTC but its lock is free: "
                f"{pid} was killed or crashed")
    if liveness.get("pid_alive") is False:
        return f"{pid}, running since {d_last.started_at:%Y-%m-%d %H:%M:%S} UTC, is gone (killed or crashed)"
    return None


def _row(job: str, athlete_id: int | None, names: dict[int, str], entry: JobRunOverview | None, **kw: Any) -> JobHealth:
    last = entry.last if entry else None
    fin = entry.last_finished if entry else None
    err = entry.last_error if entry else None
    return JobHealth(
        job=job, athlete_id=athlete_id, athlete=names.get(athlete_id) if athlete_id is not None else None,
        last_started_at=last.started_at if last else None,
        last_finished_at=fin.finished_at if fin else None,
        outcome=last.outcome if last else None,
        counts=fin.counts if fin else {},
        error=fin.error if fin and fin.outcome == "error" else None,
        last_error=err.error if err else None,
        last_error_at=(err.finished_at or err.started_at) if err else None,
        **kw,
    )


def _judge(spec: JobSpec | None, entry: JobRunOverview | None, athlete_id: int | None, names: dict[int, str], *,
           now: datetime, stale: timedelta, daemon_start: datetime | None, job_name: str | None = None) -> JobHealth:
    job = spec.name if spec else job_name or "?"
    who = f" for athlete {names.get(athlete_id, athlete_id)}" if athlete_id is not None else ""
    last = entry.last if entry else None
    fin = entry.last_finished if entry else None
    schedule = _schedule_text(spec)
    if last is None:
        nxt = spec.next_after(daemon_start) if (spec and daemon_start) else None
        if nxt is not None and now > nxt + stale:
            return _row(job, athlete_id, names, entry, state="overdue", schedule=schedule, next_expected_at=nxt,
                        problem=f"{job}{who} never ran although the daemon started at {daemon_start:%Y-%m-%d %H:%M} UTC "
                                f"(expected by {nxt:%Y-%m-%d %H:%M} UTC)")
        return _row(job, athlete_id, names, entry, state="never_ran", schedule=schedule, next_expected_at=nxt)
    nxt = spec.next_after(last.started_at) if spec else None
    if fin is not None and fin.outcome == "error":
        return _row(job, athlete_id, names, entry, state="failed", schedule=schedule, next_expected_at=nxt,
                    problem=f"{job}{who} failed at {(fin.finished_at or fin.started_at):%Y-%m-%d %H:%M:%S} UTC: {fin.error}")
    if nxt is not None and now > nxt + stale:
        return _row(job, athlete_id, names, entry, state="overdue", schedule=schedule, next_expected_at=nxt,
                    problem=f"{job}{who} is overdue: last started {last.started_at:%Y-%m-%d %H:%M:%S} UTC, "
                            f"expected again by {nxt:%Y-%m-%d %H:%M:%S} UTC (+{int(stale.total_seconds() // 60)} min grace)")
    state = "running" if last.outcome == "running" else "ok"
    return _row(job, athlete_id, names, entry, state=state, schedule=schedule, next_expected_at=nxt)


def report(svc: Service, *, now: datetime | None = None) -> HealthReport:
    """The health report for the service's database (reads only)."""
    overview = jobs.job_overview(svc)
    d_entry = next((e for e in overview if e.job == jobs.JOB_DAEMON and e.athlete_id is None), None)
    return assess(overview, svc.config, now=now or svc.clock(), strava=jobs.strava_connections(svc),
                  names=jobs.athlete_names(svc), failed_deliveries=jobs.failed_deliveries(svc),
                  liveness=live.daemon_liveness(svc, d_entry.last if d_entry else None))
