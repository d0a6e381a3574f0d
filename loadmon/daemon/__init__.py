"""The background daemon (APScheduler 3.x): scheduled Strava sync, watched folders, alert
delivery, nightly reconciliation, and its health report. Calls only loadmon.service."""

from loadmon.daemon.health import HealthReport, JobHealth, assess, report
from loadmon.daemon.scheduler import Daemon
from loadmon.service.schedule import JobSpec, job_specs

__all__ = ["Daemon", "HealthReport", "JobHealth", "JobSpec", "assess", "job_specs", "report"]
