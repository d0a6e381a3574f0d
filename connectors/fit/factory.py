"""Readable activity factory: describe a run, get a real FIT activity file (tests, demo, bench).

::

    spec = RunSpec(start=datetime(2024, 5, 1, 6, 30, tzinfo=UTC), distance_m=10_000,
                   duration_s=3000, avg_hr=150, max_hr=172,
                   altitude_profile=[(0.0, 100.0), (0.5, 180.0), (1.0, 100.0)])
    data = encode_activity(spec)          # bytes of a valid FIT activity file

The file holds what a watch writes: file_id, device_info, timer start/stop events, one
``record`` every ``record_interval_s`` (timestamp, distance, speed, altitude, heart rate), a
lap, a session (``total_ascent``/``total_descent`` from the profile when
``with_session_totals``) and an activity message with ``local_timestamp``.
:func:`encode_multisport` writes several sessions into one file, :func:`encode_settings_file`
and :func:`encode_course_file` write valid files that are not activities.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.fit.encoder import FitFileWriter, local_datetime

AltitudeProfile = Callable[[float], float] | Sequence[tuple[float, float]]

MANUFACTURER = "development"
PRODUCT = 1
PRODUCT_NAME = "loadmon factory"


def _interpolate(points: Sequence[tuple[float, float]], fraction: float) -> float:
    if fraction <= points[0][0]:
        return points[0][1]
    for (f0, a0), (f1, a1) in zip(points, points[1:], strict=False):
        if fraction <= f1:
            return a0 if f1 == f0 else a0 + (a1 - a0) * (fraction - f0) / (f1 - f0)
    return points[-1][1]


@dataclass(frozen=True, kw_only=True, slots=True)
class RunSpec:
    """One activity (or one leg of a multisport file).

    ``altitude_profile``: a callable ``fraction (0..1) -> altitude m`` or a list of
    ``(fraction, altitude_m)`` points joined by straight lines; ``None`` writes no altitude.
    ``legacy_altitude`` writes the old ``altitude`` field instead of ``enhanced_altitude``.
    ``with_session=False`` leaves out lap, session and activity messages (a cut recording).
    ``session_fields``: session fields written as given over the computed ones (FIT profile
    names and units, e.g. ``{"total_descent": 65520, "max_heart_rate": 254}``), to write what a
    broken device writes.
    ``serial=None`` writes no serial number (a file re-saved by another program).
    """

    start: datetime
    distance_m: float
    duration_s: int
    avg_hr: int | None = 150
    max_hr: int | None = 170
    altitude_profile: AltitudeProfile | None = None
    sport: str = "running"
    sub_sport: str = "generic"
    with_session_totals: bool = True
    with_session: bool = True
    serial: int | None = 1001
    record_interval_s: int = 1
    utc_offset_s: int = 0
    legacy_altitude: bool = False
    session_fields: Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("RunSpec.start must be timezone-aware")
        if self.duration_s <= 0 or self.record_interval_s <= 0:
            raise ValueError("duration_s and record_interval_s must be positive")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    def record_offsets(self) -> list[int]:
        """Seconds from the start at which records are written (start and end included)."""
        offsets = list(range(0, self.duration_s, self.record_interval_s))
        offsets.append(self.duration_s)
        return offsets

    def altitude_at(self, fraction: float) -> float | None:
        profile = self.altitude_profile
        if profile is None:
            return None
        if callable(profile):
            return float(profile(fraction))
        return _interpolate(sorted(profile), fraction)

    def profile_ascent_descent(self) -> tuple[float, float] | None:
        """Total climb and drop of the profile: exact for point lists, from the records otherwise."""
        profile = self.altitude_profile
        if profile is None:
            return None
        if callable(profile):
            values = [float(profile(o / self.duration_s)) for o in self.record_offsets()]
        else:
            values = [a for _, a in sorted(profile)]
        up = sum(b - a for a, b in zip(values, values[1:], strict=False) if b > a)
        down = sum(a - b for a, b in zip(values, values[1:], strict=False) if b < a)
        return up, down

    def heart_rate_at(self, index: int, count: int) -> int | None:
        """avg_hr everywhere except first and last record, so the mean is avg and the max is max."""
        if self.avg_hr is None:
            return None
        top = self.max_hr if self.max_hr is not None else self.avg_hr
        if count >= 2 and index == count - 1:
            return top
        if count >= 2 and index == 0:
            return max(2 * self.avg_hr - top, 30)
        return self.avg_hr


def _write_header(writer: FitFileWriter, *, serial: int | None, created: datetime, file_type: str = "activity") -> None:
    writer.write(
        "file_id",
        type=file_type,
        manufacturer=MANUFACTURER,
        product=PRODUCT,
        product_name=PRODUCT_NAME,
        serial_number=serial,
        time_created=created,
    )


def _write_records(writer: FitFileWriter, spec: RunSpec, distance_offset_m: float = 0.0) -> None:
    offsets = spec.record_offsets()
    speed = spec.distance_m / spec.duration_s
    for i, offset in enumerate(offsets):
        fraction = offset / spec.duration_s
        altitude = spec.altitude_at(fraction)
        writer.write(
            "record",
            timestamp=spec.start + timedelta(seconds=offset),
            distance=distance_offset_m + spec.distance_m * fraction,
            enhanced_speed=speed,
            enhanced_altitude=altitude if not spec.legacy_altitude else None,
            altitude=altitude if spec.legacy_altitude else None,
            heart_rate=spec.heart_rate_at(i, len(offsets)),
        )


def _totals(spec: RunSpec) -> dict[str, object]:
    totals: dict[str, object] = {
        "start_time": spec.start,
        "timestamp": spec.end,
        "total_elapsed_time": float(spec.duration_s),
        "total_timer_time": float(spec.duration_s),
        "total_distance": spec.distance_m,
        "avg_heart_rate": spec.avg_hr,
        "max_heart_rate": spec.max_hr,
        "sport": spec.sport,
        "sub_sport": spec.sub_sport,
    }
    climb = spec.profile_ascent_descent()
    if spec.with_session_totals and climb is not None:
        totals["total_ascent"] = round(climb[0])
        totals["total_descent"] = round(climb[1])
    return totals


def _write_summary(writer: FitFileWriter, spec: RunSpec, lap_index: int) -> None:
    totals = _totals(spec)
    lap_fields = {k: v for k, v in totals.items() if k not in ("sub_sport",)}
    writer.write("lap", event="lap", event_type="stop", **lap_fields)
    session = totals | dict(spec.session_fields or {})
    writer.write("session", event="session", event_type="stop", first_lap_index=lap_index, num_laps=1, **session)


def _write_activity(writer: FitFileWriter, end: datetime, timer_s: float, sessions: int, utc_offset_s: int) -> None:
    writer.write(
        "activity",
        timestamp=end,
        total_timer_time=timer_s,
        num_sessions=sessions,
        type="manual" if sessions == 1 else "auto_multi_sport",
        event="activity",
        event_type="stop",
        local_timestamp=local_datetime(end, utc_offset_s),
    )


def encode_activity(spec: RunSpec) -> bytes:
    """A complete single-session FIT activity file for ``spec``."""
    writer = FitFileWriter()
    _write_header(writer, serial=spec.serial, created=spec.start)
    writer.write(
        "device_info", timestamp=spec.start, device_index="creator", manufacturer=MANUFACTURER,
        product=PRODUCT, serial_number=spec.serial,
    )
    writer.write("sport", sport=spec.sport, sub_sport=spec.sub_sport)
    writer.write("event", timestamp=spec.start, event="timer", event_type="start")
    _write_records(writer, spec)
    writer.write("event", timestamp=spec.end, event="timer", event_type="stop_all")
    if spec.with_session:
        _write_summary(writer, spec, 0)
        _write_activity(writer, spec.end, float(spec.duration_s), 1, spec.utc_offset_s)
    return writer.close()


def encode_multisport(legs: Sequence[RunSpec], *, serial: int = 2002, sessions_first: bool = False) -> bytes:
    """One FIT file with one session per leg (legs must not overlap in time).

    ``sessions_first=True`` writes laps and sessions before the records, as some Garmin
    triathlon files do.
    """
    if not legs:
        raise ValueError("encode_multisport needs at least one leg")
    for a, b in zip(legs, legs[1:], strict=False):
        if b.start < a.end:
            raise ValueError("multisport legs overlap in time")
    writer = FitFileWriter()
    _write_header(writer, serial=serial, created=legs[0].start)
    writer.write("event", timestamp=legs[0].start, event="timer", event_type="start")

    def summaries() -> None:
        for i, leg in enumerate(legs):
            _write_summary(writer, leg, i)

    if sessions_first:
        summaries()
    distance = 0.0
    for leg in legs:
        _write_records(writer, leg, distance)
        distance += leg.distance_m
    writer.write("event", timestamp=legs[-1].end, event="timer", event_type="stop_all")
    if not sessions_first:
        summaries()
    timer = float(sum(leg.duration_s for leg in legs))
    _write_activity(writer, legs[-1].end, timer, len(legs), legs[0].utc_offset_s)
    return writer.close()


def encode_settings_file(*, serial: int = 3003, created: datetime | None = None) -> bytes:
    """A valid FIT ``settings`` file (user profile), which holds no activity."""
    writer = FitFileWriter()
    _write_header(writer, serial=serial, created=created or datetime(2024, 1, 1, tzinfo=UTC), file_type="settings")
    writer.write("user_profile", friendly_name="runner", weight=70.0, gender="female", age=35, height=1.7)
    return writer.close()


def encode_course_file(spec: RunSpec, *, name: str = "course") -> bytes:
    """A valid FIT ``course`` file: records and a lap, but a route, not an activity."""
    writer = FitFileWriter()
    _write_header(writer, serial=spec.serial, created=spec.start, file_type="course")
    writer.write("course", name=name, sport=spec.sport)
    writer.write("lap", start_time=spec.start, timestamp=spec.end, total_distance=spec.distance_m,
                 total_elapsed_time=float(spec.duration_s), total_timer_time=float(spec.duration_s))
    _write_records(writer, spec)
    return writer.close()
