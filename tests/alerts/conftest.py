"""Helpers for the alert tests: activity builders, a settable clock, services on real stores.

The real local servers (SMTP, HTTP) come from tests/receivers.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from loadmon.domain import Activity, ActivityRecord, Athlete, ElevationSource, Symptom
from tests.conftest import make_config
from tests.receivers import http_receiver, smtp_receiver  # noqa: F401 - pytest fixtures

UTC = UTC
ATHLETE = Athlete(id=1, name="Ann", timezone="UTC")


def run(activity_id: int, day: date, km: float, *, descent: float | None = 50.0, at: time = time(8, 0),
        minutes: float | None = None, athlete_id: int = 1, name: str | None = None, sport: str = "running") -> Activity:
    """A stored running activity (UTC athlete: local day = UTC day)."""
    start = datetime.combine(day, at, tzinfo=UTC)
    secs = (minutes if minutes is not None else km * 6.0) * 60.0
    return Activity(
        id=activity_id, athlete_id=athlete_id, source="fit", source_id=activity_id, sport=sport, sub_sport=None,
        start_time=start, local_date=day, distance_m=km * 1000.0, moving_time_s=secs, elapsed_time_s=secs,
        elevation_gain_m=descent, elevation_loss_m=descent,
        elevation_source=ElevationSource.DEVICE if descent is not None else ElevationSource.NONE,
        avg_hr=None, max_hr=None, perceived_exertion=None, device=None, name=name,
    )


class Runs:
    """Builds a list of runs with increasing ids: ``runs.add(day, km, descent=...)``."""

    def __init__(self) -> None:
        self.items: list[Activity] = []

    def add(self, day: date, km: float, **kw) -> Activity:
        a = run(len(self.items) + 1, day, km, **kw)
        self.items.append(a)
        return a

    def daily(self, first: date, days: int, km: float, **kw) -> None:
        for i in range(days):
            self.add(first + timedelta(days=i), km, **kw)


def symptom(symptom_id: int = 1, *, started: datetime, site: str = "knee", side: str = "right", severity: int = 4,
            resolved: datetime | None = None, location: str | None = "lateral", athlete_id: int = 1) -> Symptom:
    return Symptom(id=symptom_id, athlete_id=athlete_id, site=site, side=side, location=location, severity=severity,
                   started_at=started, resolved_at=resolved)


def record(day: date, km: float, *, source_id: int, descent: float | None = 50.0, at: time = time(7, 0),
           minutes: float | None = None, tz=UTC) -> ActivityRecord:
    """An ActivityRecord as a connector gives it (for store.record_import)."""
    start = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
    secs = (minutes if minutes is not None else km * 6.0) * 60.0
    return ActivityRecord(source="fit", source_id=source_id, sport="running", start_time=start, distance_m=km * 1000.0,
                          moving_time_s=secs, elapsed_time_s=secs, elevation_gain_m=descent, elevation_loss_m=descent,
                          elevation_source=ElevationSource.DEVICE if descent is not None else ElevationSource.NONE,
                          content_hash=f"rec-{source_id}", name=f"run {source_id}")


@dataclass
class Clock:
    """An injectable clock (``Service.clock``) the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now = self.now + timedelta(**kw)
        return self.now


def alerts_config(tmp_path: Path, url: str, *, smtp=None, http=None, push_urls: Iterable[str] | None = None, **alerts):
    """A validated Config with e-mail to ``smtp`` and a json:// push to ``http`` (when given)."""
    section: dict = {"retry_base_s": 60.0, **alerts}
    if smtp is not None:
        section["email"] = {"enabled": True, "smtp_host": smtp.host, "smtp_port": smtp.port, "security": "none",
                            "from": "loadmon@example.org", "to": ["ann@example.org"], "timeout_s": 5.0,
                            **section.get("email", {})}
    urls = list(push_urls or [])
    if http is not None:
        urls.append(f"json://{http.host}:{http.port}/hook")
    if urls:
        section["push_urls"] = urls
    return make_config(tmp_path, url, alerts=section)


@pytest.fixture(autouse=True)
def _logs_to_real_stderr():
    """CLI invocations point structlog at the CliRunner's stream, closed afterwards; the alert
    service logs, so keep the logs on the process's stderr before and after every test."""
    import sys

    from loadmon.logs import configure_logging

    configure_logging(stream=sys.__stderr__)
    yield
    configure_logging(stream=sys.__stderr__)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
