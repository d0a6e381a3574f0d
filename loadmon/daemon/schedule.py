"""What the daemon runs and how often: the one description both the scheduler and
``daemon status`` read (so "next expected run" is computed from the real schedule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from loadmon.config import Config
from loadmon.errors import ConfigError
from loadmon.service import jobs

HOUSEKEEPING_INTERVAL_S = 6 * 3600


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    name: str  # the job name recorded in job_runs
    description: str
    interval_s: float | None = None  # every N seconds ...
    daily_hour_utc: int | None = None  # ... or once a day at this hour (UTC)
    jitter_s: int = 0
    per_athlete: bool = False  # one recorded run per connected Strava athlete

    def next_after(self, when: datetime) -> datetime:
        """The next time this job is due after a run that started at ``when``."""
        if self.interval_s is not None:
            return when + timedelta(seconds=self.interval_s + self.jitter_s)
        assert self.daily_hour_utc is not None
        utc = when.astimezone(timezone.utc)
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
    """The scheduled jobs for this configuration (evaluation is not scheduled: it follows imports and syncs)."""
    d = cfg.daemon
    specs = [
        JobSpec(name=jobs.JOB_SYNC, description="Strava incremental sync of each connected athlete",
                interval_s=d.sync_interval_minutes * 60, jitter_s=d.sync_jitter_s, per_athlete=True),
        JobSpec(name=jobs.JOB_DELIVER, description="alert outbox delivery", interval_s=d.deliver_interval_s),
        JobSpec(name=jobs.JOB_RECONCILE, description="nightly Strava reconciliation", daily_hour_utc=d.reconcile_hour_utc,
                jitter_s=d.sync_jitter_s, per_athlete=True),
        JobSpec(name=jobs.JOB_HOUSEKEEPING, description="prune old job runs", interval_s=HOUSEKEEPING_INTERVAL_S),
    ]
    if cfg.fit.watch_dirs:
        specs.insert(1, JobSpec(name=jobs.JOB_IMPORT, description="import new FIT files from the watched folders",
                                interval_s=d.watch_interval_s))
    return specs
