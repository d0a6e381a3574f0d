"""Plausibility bounds for activity values from outside (FIT files, Strava): the one source of truth.

Applied at the connector boundary, before anything is stored, so the load engine never sees a
start in 2126, a 42,949 km run or a descent of 2.8e300 m (docs/fit.md, "Plausibility bounds",
prints :data:`BOUNDS` as a table; a test checks the two agree).

* An **essential** value out of range (start time, distance, elapsed/moving time, average speed)
  refuses the whole activity: :func:`check_activity` raises
  :class:`loadmon.errors.ImplausibleValueError` (``source``, ``field``, ``value``, ``allowed``).
* An **optional** value out of range (ascent, descent, steep descent, average/max heart rate)
  is dropped to ``None``; :func:`check_activity` returns the record without it and one warning
  per dropped value naming the source, the field, the value and the allowed range.
* Altitude samples outside :data:`ALTITUDE_RANGE_M` are ignored (:func:`plausible_altitude`)
  before ascent and descent are computed.

Pure (standard library + :mod:`loadmon.domain`); ``now`` is passed in by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.errors import ImplausibleValueError
from loadmon.sports import FOOT_SPORTS

EARLIEST_START = datetime(1990, 1, 1, tzinfo=UTC)  # the FIT epoch is 1989-12-31: an unset clock lands before this
START_SLACK = timedelta(days=1)  # a start may be up to a day after "now" (device clock slightly ahead)
MAX_DISTANCE_M = 2_000_000.0  # 2,000 km in one activity
MAX_DURATION_S = 10 * 86_400.0  # 10 days (multi-day ultras and bikepacking fit; 49 days does not)
MAX_CLIMB_M = 30_000.0  # ascent or descent of one activity (Tor des Geants: ~24,000 m)
MIN_HR_BPM = 25
MAX_HR_BPM = 240
ALTITUDE_RANGE_M = (-500.0, 9_000.0)  # exclusive..inclusive: Dead Sea shore -430 m, Everest 8,849 m
#: Average speed (distance / elapsed time) above which an activity is refused, by sport family.
MAX_SPEED_M_S: dict[str, float] = {"foot": 12.0, "cycling": 30.0, "swimming": 5.0, "other": 100.0}
#: Ascent or descent per km of distance above which the value is dropped (the distance counts
#: as at least 1 km, so a short segment may climb up to one kilometre's worth).
MAX_CLIMB_PER_KM_M: dict[str, float] = {"foot": 500.0, "other": 1_000.0}
SPEED_MIN_DISTANCE_M = 100.0  # the speed bound applies from this distance on (short transitions jitter)


def sport_family(sport: str) -> str:
    """``foot`` | ``cycling`` | ``swimming`` | ``other`` (the keys of the per-sport bounds)."""
    if sport in FOOT_SPORTS:
        return "foot"
    if sport in ("cycling", "e_biking"):
        return "cycling"
    if sport == "swimming":
        return "swimming"
    return "other"


@dataclass(frozen=True, kw_only=True, slots=True)
class Bound:
    """One row of the documented bounds table."""

    field: str
    allowed: str
    effect: str  # what happens to a value outside ``allowed``


REFUSED = "activity refused"
DROPPED = "value dropped to null"
BOUNDS: tuple[Bound, ...] = (
    Bound(field="start_time", allowed=f"{EARLIEST_START:%Y-%m-%d} .. now + {START_SLACK.days} day", effect=REFUSED),
    Bound(field="distance_m", allowed=f"0 .. {MAX_DISTANCE_M:,.0f} m", effect=REFUSED),
    Bound(field="elapsed_time_s", allowed=f"0 .. {MAX_DURATION_S:,.0f} s (10 days)", effect=REFUSED),
    Bound(field="moving_time_s", allowed=f"0 .. {MAX_DURATION_S:,.0f} s (10 days)", effect=REFUSED),
    Bound(field="average speed", allowed="distance / elapsed time <= "
          + ", ".join(f"{k} {v:g} m/s" for k, v in MAX_SPEED_M_S.items())
          + f" (from {SPEED_MIN_DISTANCE_M:g} m)", effect=REFUSED),
    Bound(field="elevation_gain_m", allowed=f"0 .. {MAX_CLIMB_M:,.0f} m and <= "
          + ", ".join(f"{k} {v:,.0f} m" for k, v in MAX_CLIMB_PER_KM_M.items()) + " per km (at least 1 km)",
          effect=DROPPED),
    Bound(field="elevation_loss_m", allowed="as elevation_gain_m", effect=DROPPED),
    Bound(field="steep_descent_m", allowed="as elevation_gain_m", effect=DROPPED),
    Bound(field="avg_hr", allowed=f"{MIN_HR_BPM} .. {MAX_HR_BPM} bpm", effect=DROPPED),
    Bound(field="max_hr", allowed=f"{MIN_HR_BPM} .. {MAX_HR_BPM} bpm", effect=DROPPED),
    Bound(field="altitude sample", allowed=f"above {ALTITUDE_RANGE_M[0]:g} .. {ALTITUDE_RANGE_M[1]:,.0f} m",
          effect="sample ignored"),
)
_ALLOWED = {b.field: b.allowed for b in BOUNDS}


def plausible_altitude(altitude_m: float | None) -> TypeGuard[float]:
    """A usable altitude sample: a number above -500 m (the FIT "invalid" sentinel) up to 9,000 m."""
    return isinstance(altitude_m, (int, float)) and ALTITUDE_RANGE_M[0] < altitude_m <= ALTITUDE_RANGE_M[1]


#: Values that may be dropped to ``None`` (the others are essential: the activity is refused).
OPTIONAL_FIELDS: frozenset[str] = frozenset(
    {"elevation_gain_m", "elevation_loss_m", "steep_descent_m", "avg_hr", "max_hr", "perceived_exertion"})


def finite_fields(values: dict[str, Any], *, source: str) -> tuple[dict[str, Any], list[str]]:
    """``values`` with NaN/infinity removed: an optional one becomes ``None`` (with a warning), an
    essential one refuses the activity (:class:`ImplausibleValueError`). Use before building a record."""
    out = dict(values)
    warnings: list[str] = []
    for field, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            if field not in OPTIONAL_FIELDS:
                raise ImplausibleValueError(source=source, field=field, value=str(value), allowed="a finite number")
            out[field] = None
            warnings.append(f"{source}: {field} = {value} is not plausible (allowed: a finite number); dropped")
    return out, warnings


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return f"{value:.0f}"
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def _refuse(source: str, field: str, value: object) -> ImplausibleValueError:
    return ImplausibleValueError(source=source, field=field, value=_shown(value), allowed=_ALLOWED[field])


def _in_range(value: float | None, hi: float) -> bool:
    return value is None or (math.isfinite(value) and 0.0 <= value <= hi)


def check_essentials(record: ActivityRecord, *, source: str, now: datetime) -> None:
    """Raise :class:`ImplausibleValueError` when a value the load depends on is impossible."""
    if not EARLIEST_START <= record.start_time <= now + START_SLACK:
        raise _refuse(source, "start_time", record.start_time)
    if not _in_range(record.distance_m, MAX_DISTANCE_M):
        raise _refuse(source, "distance_m", record.distance_m)
    for field in ("elapsed_time_s", "moving_time_s"):
        if not _in_range(getattr(record, field), MAX_DURATION_S):
            raise _refuse(source, field, getattr(record, field))
    distance, elapsed = record.distance_m, record.elapsed_time_s or record.moving_time_s
    if distance is not None and distance >= SPEED_MIN_DISTANCE_M and elapsed is not None:
        limit = MAX_SPEED_M_S[sport_family(record.sport)]
        if elapsed <= 0 or distance / elapsed > limit:
            speed = math.inf if elapsed <= 0 else distance / elapsed
            raise ImplausibleValueError(source=source, field="average speed", value=f"{speed:.1f} m/s",
                                        allowed=f"<= {limit:g} m/s for {record.sport}")


def climb_limit_m(sport: str, distance_m: float | None) -> float:
    """The largest plausible ascent or descent for ``distance_m`` metres of ``sport``."""
    if distance_m is None or not math.isfinite(distance_m):
        return MAX_CLIMB_M
    per_km = MAX_CLIMB_PER_KM_M.get(sport_family(sport), MAX_CLIMB_PER_KM_M["other"])
    return min(MAX_CLIMB_M, per_km * max(distance_m / 1000.0, 1.0))


def _hr_ok(value: int | None) -> bool:
    return value is None or MIN_HR_BPM <= value <= MAX_HR_BPM


def drop_implausible(record: ActivityRecord, *, source: str) -> tuple[ActivityRecord, list[str]]:
    """``record`` with each implausible optional value set to ``None``, and one warning per value."""
    dropped: dict[str, object] = {}
    limit = climb_limit_m(record.sport, record.distance_m)
    for field in ("elevation_gain_m", "elevation_loss_m", "steep_descent_m"):
        value = getattr(record, field)
        if not _in_range(value, limit):
            dropped[field] = value
    for field in ("avg_hr", "max_hr"):
        if not _hr_ok(getattr(record, field)):
            dropped[field] = getattr(record, field)
    if not dropped:
        return record, []
    climb_allowed = f"0 .. {limit:,.0f} m for {record.distance_m or 0:,.0f} m of {record.sport}"
    warnings = [
        f"{source}: {field} = {_shown(value)} is not plausible "
        f"(allowed: {_ALLOWED[field] if field.endswith('_hr') else climb_allowed}); dropped"
        for field, value in dropped.items()
    ]
    changes: dict[str, Any] = dict.fromkeys(dropped)
    if record.elevation_gain_m is None or "elevation_gain_m" in dropped:
        if record.elevation_loss_m is None or "elevation_loss_m" in dropped:
            changes["elevation_source"] = ElevationSource.NONE
    return replace(record, **changes), warnings


def check_activity(record: ActivityRecord, *, source: str, now: datetime) -> tuple[ActivityRecord, list[str]]:
    """Refuse (raise) on an implausible essential value; drop implausible optional ones (warnings)."""
    check_essentials(record, source=source, now=now)
    return drop_implausible(record, source=source)
