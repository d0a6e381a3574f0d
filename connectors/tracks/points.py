"""From track points to an :class:`~loadmon.domain.ActivityRecord` (pure, standard library + loadmon.elevation).

The same rules for GPX and TCX:

* **Start and elapsed time:** the first and last point with a time. A track with fewer than two
  timed points is not an activity (a route or a drawn track): :class:`UnsupportedFileError`. When
  fewer than half of the points have a time (times removed by an editor), the start is the first
  time and the duration is unknown (``None``).
* **Distance:** the file's own distance when it states one (TCX laps, a cumulative distance per
  point), else the great-circle sum between consecutive points of each segment (haversine on the
  mean Earth radius 6,371,008.8 m; within 0.5 % of the WGS84 ellipsoid; no distance across the
  gap between two segments or tracks).
* **Moving time (the pause rule):** the time between consecutive timed points of a segment counts
  when the runner covered at least :data:`MOVING_SPEED_M_S` (0.5 m/s, 1.8 km/h) on average in it;
  slower stretches and the gaps between segments are pauses. Without positions or distances (an
  indoor file) the elapsed time within segments counts.
* **Heart rate:** the mean and the maximum of the points' values.
* **Descent:** the same smoothing and hysteresis as FIT altitude streams
  (:func:`loadmon.elevation.gain_loss`), its steep part and the altitude profile; no elevation at
  all gives ``None`` (unknown, not 0).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.elevation import DEFAULT_HYSTERESIS_M, elevation_profile, gain_loss, steep_descent
from loadmon.errors import UnsupportedFileError

__all__ = ["Point", "Track", "MOVING_SPEED_M_S", "EARTH_RADIUS_M", "haversine_m", "to_record", "source_id_of"]

MOVING_SPEED_M_S = 0.5
EARTH_RADIUS_M = 6_371_008.8
_ID_MASK = (1 << 63) - 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Point:
    time: datetime | None = None  # timezone-aware
    lat: float | None = None
    lon: float | None = None
    ele_m: float | None = None
    hr: float | None = None
    distance_m: float | None = None  # cumulative, when the file states it


@dataclass(frozen=True, kw_only=True, slots=True)
class Track:
    """One activity's points as read from a file, segment by segment."""

    segments: tuple[tuple[Point, ...], ...]
    sport: str
    name: str | None = None
    device: str | None = None
    distance_m: float | None = None  # the file's own total, when it states one
    utc_offset_s: int | None = None  # when the file's times carry their local offset


def haversine_m(a: Point, b: Point) -> float:
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _placed(p: Point) -> bool:
    return p.lat is not None and p.lon is not None and -90 <= p.lat <= 90 and -180 <= p.lon <= 180


def _step_m(a: Point, b: Point) -> float | None:
    """Metres from ``a`` to ``b``: the file's cumulative distances, else the great circle."""
    if a.distance_m is not None and b.distance_m is not None and b.distance_m >= a.distance_m:
        return b.distance_m - a.distance_m
    if _placed(a) and _placed(b):
        return haversine_m(a, b)
    return None


def source_id_of(data_hash: str, index: int) -> int:
    return (int.from_bytes(hashlib.sha256(f"{data_hash}:{index}".encode()).digest()[:8], "big") & _ID_MASK) or 1


def to_record(
    track: Track, *, source: str, name: str, content_hash: str, index: int, hysteresis_m: float = DEFAULT_HYSTERESIS_M
) -> tuple[ActivityRecord, list[str]]:
    """The activity of ``track`` and its notes; :class:`UnsupportedFileError` when it is not one."""
    notes: list[str] = []
    points = [p for seg in track.segments for p in seg]
    if not points:
        raise UnsupportedFileError(name, "no track points: nothing was recorded")
    timed = [p.time for p in points if p.time is not None]
    if len(timed) < 2:
        raise UnsupportedFileError(name, "no times on the track points: a route or a drawn track, not a recorded activity")
    start, end = min(timed), max(timed)
    times_known = len(timed) * 2 >= len(points)
    if not times_known:
        notes.append(f"only {len(timed)} of {len(points)} points have a time: the start is the first of them, the duration is unknown")
    elif len(timed) < len(points):
        notes.append(f"{len(points) - len(timed)} of {len(points)} points have no time")
    # each segment's steps (m, or None when unknown), measured once
    steps = [[_step_m(a, b) for a, b in zip(seg, seg[1:])] for seg in track.segments]
    # a file whose points never move (an indoor ride whose distance stays 0) says nothing about pauses
    if not any((step or 0.0) > 0 for seg_steps in steps for step in seg_steps):
        steps = [[None] * len(seg_steps) for seg_steps in steps]
    walked = 0.0
    moving = 0.0
    measured = False
    dist_alt: list[tuple[float, float]] = []
    for seg, seg_steps in zip(track.segments, steps):
        for i, p in enumerate(seg):
            if i:
                prev, step = seg[i - 1], seg_steps[i - 1]
                if step is not None:
                    measured = True
                    walked += step
                if prev.time is not None and p.time is not None and p.time > prev.time:
                    dt = (p.time - prev.time).total_seconds()
                    if step is None or step / dt >= MOVING_SPEED_M_S:
                        moving += dt
            if p.ele_m is not None:
                dist_alt.append((walked, p.ele_m))
    distance = track.distance_m if track.distance_m else (walked if measured else None)
    if track.distance_m and measured and walked > 0 and abs(track.distance_m - walked) >= 1:
        notes.append(f"distance {track.distance_m:.0f} m as the file states it (the track points give {walked:.0f} m)")
    altitudes = [p.ele_m for p in points if p.ele_m is not None]
    gain: float | None
    loss: float | None
    steep: float | None
    if altitudes:
        gain, loss = gain_loss(altitudes, hysteresis_m)
        source_el = ElevationSource.COMPUTED
        steep = steep_descent(dist_alt) if measured else None
        profile = elevation_profile(dist_alt) if measured else None
    else:
        gain = loss = steep = None
        profile = None
        source_el = ElevationSource.NONE
    hrs = [p.hr for p in points if p.hr is not None and 20 <= p.hr <= 250]
    extra: dict[str, Any] = {"points": len(points), "segments": len(track.segments), "notes": notes}
    record = ActivityRecord(
        source=source,
        source_id=source_id_of(content_hash, index),
        sport=track.sport,
        start_time=start.astimezone(UTC),
        distance_m=distance,
        moving_time_s=(moving or None) if times_known else None,
        elapsed_time_s=(end - start).total_seconds() if times_known else None,
        elevation_gain_m=gain,
        elevation_loss_m=loss,
        elevation_source=source_el,
        steep_descent_m=steep,
        avg_hr=round(sum(hrs) / len(hrs)) if hrs else None,
        max_hr=round(max(hrs)) if hrs else None,
        device=track.device,
        name=track.name,
        external_id=name.rsplit("/", 1)[-1][:200],
        utc_offset_s=track.utc_offset_s,
        content_hash=content_hash if index == 0 else f"{content_hash}:{index}",
        profile=profile,
        extra=extra,
    )
    return record, notes


def first_offset(times: Sequence[datetime | None]) -> int | None:
    """The UTC offset of the first time written with a non-zero offset (OpenTracks writes +01:00)."""
    for t in times:
        if t is not None and t.utcoffset() is not None:
            offset = int(t.utcoffset().total_seconds())  # type: ignore[union-attr]
            return offset if offset != 0 else None
    return None
