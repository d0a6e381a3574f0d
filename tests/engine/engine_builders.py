"""Build loadmon.domain records directly for engine and report tests (no database)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from loadmon.domain import Activity, Athlete, ElevationSource, Sex
from loadmon.engine import local_date_of

D0 = date(2024, 1, 1)  # a Monday
_ids = itertools.count(1)


def athlete(*, tz: str = "UTC", hr_rest: int | None = None, hr_max: int | None = None,
            sex: Sex | None = None, athlete_id: int = 1) -> Athlete:
    return Athlete(id=athlete_id, name="Test Runner", timezone=tz, hr_rest=hr_rest, hr_max=hr_max, sex=sex)


def activity(
    day: date | int,
    *,
    km: float | None = None,
    sport: str = "running",
    minutes: float | None = None,
    elapsed_minutes: float | None = None,
    descent_m: float | None = None,
    avg_hr: int | None = None,
    rpe: float | None = None,
    at: time = time(8, 0),
    tz: str = "UTC",
    athlete_id: int = 1,
    deleted: bool = False,
    duplicate_of: int | None = None,
    activity_id: int | None = None,
    distance_m: float | None = None,
) -> Activity:
    """One stored activity on local ``day`` (a date, or an offset in days from D0) at local
    time ``at`` in zone ``tz``; ``local_date`` is computed the way storage does."""
    if isinstance(day, int):
        day = D0 + timedelta(days=day)
    start_local = datetime.combine(day, at, tzinfo=ZoneInfo(tz))
    start_utc = start_local.astimezone(UTC)
    if distance_m is None and km is not None:
        distance_m = km * 1000.0
    return Activity(
        id=activity_id if activity_id is not None else next(_ids),
        athlete_id=athlete_id, source="fit", source_id=next(_ids), sport=sport, sub_sport=None,
        start_time=start_utc, local_date=local_date_of(start_utc, tz), distance_m=distance_m,
        moving_time_s=minutes * 60.0 if minutes is not None else None,
        elapsed_time_s=elapsed_minutes * 60.0 if elapsed_minutes is not None else None,
        elevation_gain_m=descent_m, elevation_loss_m=descent_m,
        elevation_source=ElevationSource.DEVICE if descent_m is not None else ElevationSource.NONE,
        avg_hr=avg_hr, max_hr=None, perceived_exertion=rpe, device=None, name=None,
        deleted=deleted, duplicate_of=duplicate_of,
    )


def daily_runs(kms: list[float], *, first: int = 0, **kw) -> list[Activity]:
    """One run per day with the given distances (0 km -> no run that day)."""
    return [activity(first + i, km=km, **kw) for i, km in enumerate(kms) if km]
