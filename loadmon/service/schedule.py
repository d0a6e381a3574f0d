"""The job schedule: the one table of what runs in the background, how often, and what it calls.

:func:`job_specs` is read by the single-process daemon (:mod:`loadmon.daemon.scheduler`, an
APScheduler job per row), by the Celery scheduler (:func:`loadmon.worker.run.beat_schedule`, a
beat entry per row, run by the worker task registered for the job name) and by ``loadmon daemon
status`` (the next expected run of each job). Rule evaluation is not scheduled: it follows
every import and sync that stores activities. :func:`run_once` is one pass of every job
(``loadmon daemon --once``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loadmon.config import Config
from loadmon.errors import ConfigError
from loadmon.service.context import Service
from loadmon.service.jobrunner import (
    JOB_DELIVER,
    JOB_FILL,
    JOB_HOUSEKEEPING,
    JOB_IMPORT,
    JOB_MORNING,
    JOB_RECONCILE,
    JOB_STRAVA_EVENTS,
    JOB_SYNC,
    JobResult,
    stopping,
)
from loadmon.service.scheduled_jobs import (
    deliver,
    evaluate,
    fill_all,
    housekeeping,
    morning_messages,
    reconcile_all,
    strava_events,
    sync_all,
)
from loadmon.service.watch import import_watched

HOUSEKEEPING_INTERVAL_S = 6 * 3600
#: How often the streams fill looks for spare budget (one 15-minute rate-limit window).
FILL_INTERVAL_S = 15 * 60
#: How often the morning check-in job looks for a check-in that is due (it sends at most one a day per athlete).
MORNING_INTERVAL_S = 10 * 60
#: How often the recorded Strava webhook events are processed (the web app also wakes the job at once
#: when the daemon serves it, ``[web] enabled``).
STRAVA_EVENTS_INTERVAL_S = 2


def _succeeded(result: JobResult) -> bool:
    return result.outcome == "ok"


def _evaluated(result: JobResult) -> bool:
    return bool(result.then)


def _queued(result: JobResult) -> bool:
    return bool(result.counts.get("queued"))


def _processed(result: JobResult) -> bool:
    return bool(result.counts.get("done"))


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """One scheduled job: either every ``interval_s`` seconds or daily at ``daily_hour_utc``."""

    name: str  # the job name recorded in job_runs (the scheduler's job id, the worker's beat entry)
    description: str
    run: Callable[[Service], JobResult | list[JobResult]]  # what one scheduled run calls
    interval_s: float | None = None  # every N seconds ...
    daily_hour_utc: int | None = None  # ... or once a day at this hour (UTC)
    jitter_s: int = 0
    per_athlete: bool = False  # one recorded run per connected Strava athlete
    start_delay_s: float | None = None  # first run this long after start (None: at its first scheduled time)
    wakes_delivery: Callable[[JobResult], bool] | None = None  # a result after which alerts may wait: deliver now

    def next_after(self, when: datetime) -> datetime:
        """The next time this job is due after a run that started at ``when``."""
        if self.interval_s is not None:
            return when + timedelta(seconds=self.interval_s + self.jitter_s)
        assert self.daily_hour_utc is not None
        utc = when.astimezone(UTC)
        nxt = utc.replace(hour=self.daily_hour_utc, minute=0, second=0, microsecond=0)
        if nxt <= utc:
            nxt += timedelta(days=1)
        return nxt + timedelta(seconds=self.jitter_s)


def validate(cfg: Config) -> None:
    """Daemon settings the scheduler cannot work with; ConfigError names the key."""
    d = cfg.daemon
    for key, value, low in (("sync_interval_minutes", d.sync_interval_minutes, 1), ("watch_interval_s", d.watch_interval_s, 1),
                            ("deliver_interval_s", d.deliver_interval_s, 1), ("sync_jitter_s", d.sync_jitter_s, 0),
                            ("misfire_grace_s", d.misfire_grace_s, 1), ("stale_after_minutes", d.stale_after_minutes, 0),
                            ("lock_check_s", d.lock_check_s, 1)):
        if value < low:
            raise ConfigError(f"config key daemon.{key}: must be at least {low}, got {value}", key=f"daemon.{key}")
    if not 0 <= d.reconcile_hour_utc <= 23:
        raise ConfigError(f"config key daemon.reconcile_hour_utc: must be 0-23, got {d.reconcile_hour_utc}",
                          key="daemon.reconcile_hour_utc")
    try:
        from loadmon.service.alerting import validate_channels
    except ImportError:  # alerting not installed in this build: nothing to validate
        return
    validate_channels(cfg)  # a bad SMTP setting or apprise URL is a start-up error, not a 3 a.m. surprise


def job_specs(cfg: Config) -> list[JobSpec]:
    """The scheduled jobs for this configuration, in start order (the watched-folder scan only
    when ``fit.watch_dirs`` is set, the morning messages only when ``alerts.morning_checkin`` or ``alerts.morning_limits`` is,
    the Strava webhook events only when ``strava.webhook_verify_token`` is)."""
    d = cfg.daemon
    specs = [
        JobSpec(name=JOB_SYNC, description="Strava incremental sync of each connected athlete", run=sync_all,
                interval_s=d.sync_interval_minutes * 60, jitter_s=d.sync_jitter_s, per_athlete=True,
                start_delay_s=0, wakes_delivery=_succeeded),
        JobSpec(name=JOB_DELIVER, description="alert outbox delivery", run=deliver, interval_s=d.deliver_interval_s,
                start_delay_s=1),
        JobSpec(name=JOB_RECONCILE, description="nightly Strava reconciliation", run=reconcile_all,
                daily_hour_utc=d.reconcile_hour_utc, jitter_s=d.sync_jitter_s, per_athlete=True,
                wakes_delivery=_succeeded),
        JobSpec(name=JOB_HOUSEKEEPING, description="prune old job runs", run=housekeeping,
                interval_s=HOUSEKEEPING_INTERVAL_S, start_delay_s=2),
    ]
    if cfg.strava.webhook_verify_token.strip():
        specs.insert(1, JobSpec(name=JOB_STRAVA_EVENTS, description="Strava webhook events: read, store, evaluate",
                                run=strava_events, interval_s=STRAVA_EVENTS_INTERVAL_S, start_delay_s=1,
                                wakes_delivery=_processed))
    if cfg.alerts.morning_checkin.strip() or cfg.alerts.morning_limits.strip():
        specs.append(JobSpec(name=JOB_MORNING, description="morning messages: the check-in while a symptom episode is open, the day's limits when tighter",
                             run=morning_messages, interval_s=MORNING_INTERVAL_S, start_delay_s=3, wakes_delivery=_queued))
    specs.append(JobSpec(name=JOB_FILL, description="Strava streams of older runs, from spare budget only (lowest priority)",
                         run=fill_all, interval_s=FILL_INTERVAL_S, jitter_s=d.sync_jitter_s, start_delay_s=300))
    if cfg.fit.watch_dirs:
        specs.insert(1, JobSpec(name=JOB_IMPORT, description="import new FIT files from the watched folders",
                                run=import_watched, interval_s=d.watch_interval_s, start_delay_s=0,
                                wakes_delivery=_evaluated))
    return specs


def run_once(svc: Service) -> list[JobResult]:
    """One pass of every job: import watched folders, Strava sync, rule evaluation for every
    athlete, the morning check-in (when one is due), outbox delivery (``loadmon daemon --once``)."""
    results: list[JobResult] = []
    if svc.config.fit.watch_dirs:
        results.append(import_watched(svc))
    results.extend(sync_all(svc))
    if not stopping(svc):
        ids = [a.id for a in svc.store.list_athletes()]
        if ids:
            results.append(evaluate(svc, ids))
    if (svc.config.alerts.morning_checkin.strip() or svc.config.alerts.morning_limits.strip()) and not stopping(svc):
        results.append(morning_messages(svc))
    if not stopping(svc):
        results.append(deliver(svc))
    return results


__all__ = ["FILL_INTERVAL_S", "HOUSEKEEPING_INTERVAL_S", "MORNING_INTERVAL_S", "STRAVA_EVENTS_INTERVAL_S", "JobSpec", "job_specs", "run_once", "validate"]
