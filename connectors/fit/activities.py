"""Decoded FIT messages -> :class:`loadmon.domain.ActivityRecord` (one per session).

Rules (docs/fit.md has the reasoning and the measured figures):

* Only FIT files of type ``activity`` give activities (a chunk without ``file_id.type`` counts
  when it has sessions or records); a file with none is skipped with a reason.
* One activity per ``session`` message. Records belong to the chunk (FIT file) they were read
  in and, within it, to the last session whose ``start_time`` is at or before them (records
  before the first session go to the first one). Sessions written before the records
  (triathlon "summary first", Strava) need nothing special.
* An activity chunk with records but no session gives one activity derived from its records.
* Elevation: the session's ``total_ascent``/``total_descent`` (``DEVICE``); if the session has
  none, computed from record altitude (``enhanced_altitude`` preferred) with
  :func:`loadmon.elevation.gain_loss` (``COMPUTED``); no altitude at all gives ``NONE``.
  A device value of 0 while the stream climbs/descends at least :data:`ZERO_DEVICE_TRUST_M`
  is treated as "not recorded" (TomTom, Zwift write 0) and both values are computed, with a
  warning. Steep descent (``steep_descent_m``, at -8 % or steeper) always comes from the
  records that carry both distance and altitude (:func:`loadmon.elevation.steep_descent`; no
  device writes it); ``None`` without them (treadmill, no GPS/barometer).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.fit.decoding import FIT_EPOCH_S, MIN_ABSOLUTE_FIT_TIME, DecodedChunk, DecodedFit, Record
from connectors.plausibility import finite_fields, plausible_altitude
from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.elevation import DEFAULT_HYSTERESIS_M, elevation_profile, gain_loss, steep_descent
from loadmon.sports import normalise_fit_sport

ZERO_DEVICE_TRUST_M = 10.0  # a device total of 0 is believed unless the stream moves this much
# Altitude noise: no ascent/descent is computed for a session shorter than this or with fewer samples
# (a 4-second multisport transition whose GPS altitude jumps 81 m has no descent to speak of).
MIN_COMPUTED_ELEVATION_S = 60.0
MIN_ALTITUDE_SAMPLES = 10
PAUSE_GAP_S = 60  # records-only activities: a gap longer than this between records is a pause
MAX_UTC_OFFSET_S = 14 * 3600
_SOURCE_ID_MASK = (1 << 63) - 1


@dataclass(slots=True)
class _Stream:
    """One pass over a session's records."""

    count: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    moving_s: float = 0.0
    dist_min: float | None = None
    dist_max: float | None = None
    hr_sum: int = 0
    hr_count: int = 0
    hr_max: int | None = None
    altitudes: list[float] | None = None
    valid_altitudes: int = 0
    dist_alt: list[tuple[float, float]] | None = None  # (distance, altitude) where a record has both


def _stream(records: list[Record]) -> _Stream:
    s = _Stream(count=len(records))
    altitudes: list[float] = []
    dist_alt: list[tuple[float, float]] = []
    prev_ts: int | None = None
    moving = 0
    dmin = dmax = None
    hr_sum = hr_count = 0
    hr_max = 0
    for ts, dist, alt, hr in records:
        if ts is not None:
            if prev_ts is None:
                s.first_ts = ts
            elif 0 < ts - prev_ts <= PAUSE_GAP_S:
                moving += ts - prev_ts
            prev_ts = ts
        if dist is not None:
            if dmax is None or dist > dmax:
                dmax = dist
            if dmin is None or dist < dmin:
                dmin = dist
        if plausible_altitude(alt):  # None, the -500 m sentinel and impossible heights are ignored
            altitudes.append(alt)
            if dist is not None:
                dist_alt.append((dist, alt))
        if hr:
            hr_sum += hr
            hr_count += 1
            if hr > hr_max:
                hr_max = hr
    s.last_ts = prev_ts
    s.moving_s = float(moving)
    s.dist_min, s.dist_max = dmin, dmax
    s.hr_sum, s.hr_count, s.hr_max = hr_sum, hr_count, (hr_max or None)
    s.altitudes = altitudes
    s.valid_altitudes = len(altitudes)
    s.dist_alt = dist_alt
    return s


def _is_activity_chunk(chunk: DecodedChunk) -> bool:
    file_type = (chunk.file_id or {}).get("type")
    if file_type is None:
        return bool(chunk.sessions or chunk.records)
    return file_type in ("activity", 4)


def _to_datetime(fit_seconds: int) -> datetime:
    return datetime.fromtimestamp(fit_seconds + FIT_EPOCH_S, UTC)


def _device(file_id: dict[str, Any] | None) -> str | None:
    if not file_id:
        return None
    manufacturer = file_id.get("manufacturer")
    product = file_id.get("product_name") or file_id.get("garmin_product") or file_id.get("product")
    parts = [str(p).strip() for p in (manufacturer, product) if p not in (None, 0, "")]
    return " ".join(p for p in parts if p) or None


def _source_id(key: str) -> int:
    return (int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") & _SOURCE_ID_MASK) or 1


def _utc_offset(chunk: DecodedChunk) -> int | None:
    for act in chunk.activities:
        ts, local = act.get("timestamp"), act.get("local_timestamp")
        if isinstance(ts, int) and isinstance(local, int) and ts >= MIN_ABSOLUTE_FIT_TIME and local >= MIN_ABSOLUTE_FIT_TIME:
            offset = round((local - ts) / 900) * 900  # real offsets are whole quarter hours
            if abs(offset) <= MAX_UTC_OFFSET_S:
                return offset
    return None


def _clock_shift(chunk: DecodedChunk) -> int | None:
    """Seconds to add to relative (power-on) timestamps, from the activity's local time."""
    for act in chunk.activities:
        ts, local = act.get("timestamp"), act.get("local_timestamp")
        if isinstance(ts, int) and isinstance(local, int) and ts < MIN_ABSOLUTE_FIT_TIME <= local:
            return local - ts
    return None


def _session_start(session: dict[str, Any] | None, stream_first_ts: int | None, file_id: dict[str, Any] | None) -> int | None:
    if session:
        start = session.get("start_time")
        if isinstance(start, int):
            return start
        end, elapsed = session.get("timestamp"), session.get("total_elapsed_time")
        if isinstance(end, int) and elapsed is not None:
            return int(end - elapsed)
    if stream_first_ts is not None:
        return stream_first_ts
    created = (file_id or {}).get("time_created")
    return created if isinstance(created, int) else None


def _assign(sessions: list[dict[str, Any]], records: list[Record], starts: list[int | None]) -> list[list[Record]]:
    if len(sessions) <= 1:
        return [records]
    keyed = [s if s is not None else -1 for s in starts]
    buckets: list[list[Record]] = [[] for _ in sessions]
    index = 0
    for rec in records:
        ts = rec[0]
        if ts is not None:
            index = bisect_right(keyed, ts) - 1
            if index < 0:
                index = 0
        buckets[index].append(rec)
    return buckets


def _positive(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and value > 0 else None


@dataclass(frozen=True, kw_only=True, slots=True)
class _Plan:
    chunk: DecodedChunk
    session: dict[str, Any] | None
    records: list[Record]
    start_raw: int | None
    index_in_chunk: int


def _plans(chunk: DecodedChunk) -> list[_Plan]:
    if not chunk.sessions:
        if not chunk.records:
            return []
        first = next((r[0] for r in chunk.records if r[0] is not None), None)
        return [_Plan(chunk=chunk, session=None, records=chunk.records,
                      start_raw=_session_start(None, first, chunk.file_id), index_in_chunk=0)]
    starts = [_session_start(s, None, chunk.file_id) for s in chunk.sessions]
    order = sorted(range(len(chunk.sessions)), key=lambda i: (starts[i] is None, starts[i] or 0, i))
    sessions = [chunk.sessions[i] for i in order]
    starts = [starts[i] for i in order]
    buckets = _assign(sessions, chunk.records, starts)
    return [
        _Plan(chunk=chunk, session=s, records=b, start_raw=st, index_in_chunk=i)
        for i, (s, b, st) in enumerate(zip(sessions, buckets, starts, strict=True))
    ]


def _elevation(
    session: dict[str, Any] | None, stream: _Stream, warn: list[str], label: str, prefer_device: bool,
    hysteresis_m: float, has_stream: bool, sport: str,
) -> tuple[float | None, float | None, ElevationSource]:
    dev_gain = session.get("total_ascent") if session else None
    dev_loss = session.get("total_descent") if session else None
    if sport == "transition" and dev_gain in (0, None) and dev_loss in (0, None):
        dev_gain = dev_loss = None  # devices write 0 for "not measured" on transitions
    if not prefer_device and has_stream:
        gain, loss = gain_loss(stream.altitudes or [], hysteresis_m)
        return gain, loss, ElevationSource.COMPUTED
    if dev_gain is not None and dev_loss is not None:
        if has_stream and (dev_gain == 0 or dev_loss == 0):
            gain, loss = gain_loss(stream.altitudes or [], hysteresis_m)
            if (dev_gain == 0 and gain >= ZERO_DEVICE_TRUST_M) or (dev_loss == 0 and loss >= ZERO_DEVICE_TRUST_M):
                warn.append(
                    f"{label}: session says ascent {dev_gain} m / descent {dev_loss} m but the altitude stream "
                    f"gives {gain:.0f} m / {loss:.0f} m; using the stream"
                )
                return gain, loss, ElevationSource.COMPUTED
        return float(dev_gain), float(dev_loss), ElevationSource.DEVICE
    if has_stream:
        gain, loss = gain_loss(stream.altitudes or [], hysteresis_m)
        return gain, loss, ElevationSource.COMPUTED
    if dev_gain is not None or dev_loss is not None:
        return (
            float(dev_gain) if dev_gain is not None else None,
            float(dev_loss) if dev_loss is not None else None,
            ElevationSource.DEVICE,
        )
    return None, None, ElevationSource.NONE


def build_activities(
    decoded: DecodedFit,
    *,
    name: str,
    sha256_hex: str,
    prefer_device_elevation: bool = True,
    hysteresis_m: float = DEFAULT_HYSTERESIS_M,
) -> tuple[list[ActivityRecord], str | None, list[str]]:
    """Return (activities, skipped_reason, warnings) for a decoded file.

    ``prefer_device_elevation=False`` computes ascent/descent from the altitude stream whenever
    there is one (the device totals are then used only for sessions without altitude).
    """
    warn: list[str] = []
    activity_chunks = [c for c in decoded.chunks if _is_activity_chunk(c)]
    other_types = sorted({str((c.file_id or {}).get("type")) for c in decoded.chunks if not _is_activity_chunk(c)})
    if not activity_chunks:
        kinds = ", ".join(other_types) if other_types else "none"
        return [], f"not an activity file (file type: {kinds})", warn
    if other_types:
        warn.append(f"ignored non-activity parts of a chained file (file type: {', '.join(other_types)})")

    plans = [p for c in activity_chunks for p in _plans(c)]
    if not plans:
        return [], "activity file without sessions or records", warn

    several = len(plans) > 1
    out: list[ActivityRecord] = []
    for index, plan in enumerate(plans):
        out.append(
            _record(plan, index, several, name=name, sha256_hex=sha256_hex, warn=warn,
                    prefer_device=prefer_device_elevation, hysteresis_m=hysteresis_m)
        )
    return out, None, warn


def _record(
    plan: _Plan, index: int, several: bool, *, name: str, sha256_hex: str, warn: list[str], prefer_device: bool,
    hysteresis_m: float,
) -> ActivityRecord:
    session, chunk = plan.session, plan.chunk
    stream = _stream(plan.records)
    sport_msg = chunk.sports[0] if chunk.sports else {}
    raw_sport = (session or {}).get("sport") or sport_msg.get("sport")
    raw_sub = (session or {}).get("sub_sport") or sport_msg.get("sub_sport")
    sport = normalise_fit_sport(str(raw_sport) if raw_sport is not None else None, str(raw_sub) if raw_sub else None)
    label = f"session {index} ({sport})" if several else sport

    start_raw = plan.start_raw
    utc_offset = _utc_offset(chunk)
    if start_raw is None:
        start_raw = 0
        warn.append(f"{label}: no start time in the file")
    elif start_raw < MIN_ABSOLUTE_FIT_TIME:
        shift = _clock_shift(chunk)
        utc_offset = None
        if shift is not None:
            start_raw += shift
            warn.append(
                f"{label}: device clock was not set (timestamps count from power-on); start time taken "
                "from the activity's local time, UTC offset unknown (treated as UTC)"
            )
        else:
            warn.append(f"{label}: device clock was not set (timestamps count from power-on); start time is wrong")

    if session is None:
        warn.append(f"{label}: no session message; distance, times and heart rate derived from {stream.count} records")

    distance = session.get("total_distance") if session else None
    if distance is None and stream.dist_max is not None:
        first_in_chunk = plan.index_in_chunk == 0
        distance = stream.dist_max - (0.0 if first_in_chunk else (stream.dist_min or 0.0))
    derived_elapsed = (
        float(stream.last_ts - stream.first_ts) if stream.first_ts is not None and stream.last_ts is not None else None
    )
    elapsed = session.get("total_elapsed_time") if session else None
    moving = session.get("total_timer_time") if session else None
    if elapsed is None:
        elapsed = derived_elapsed
    if moving is None:
        moving = stream.moving_s if derived_elapsed is not None else None

    avg_hr = _positive(session.get("avg_heart_rate")) if session else None
    max_hr = _positive(session.get("max_heart_rate")) if session else None
    if avg_hr is None and stream.hr_count:
        avg_hr = round(stream.hr_sum / stream.hr_count)
    if max_hr is None:
        max_hr = stream.hr_max

    # altitude noise: too few samples, or a segment too short to climb (multisport transitions)
    has_stream = stream.valid_altitudes >= MIN_ALTITUDE_SAMPLES and (
        elapsed is None or elapsed >= MIN_COMPUTED_ELEVATION_S)
    gain, loss, elevation_source = _elevation(session, stream, warn, label, prefer_device, hysteresis_m,
                                              has_stream, sport)

    rpe = session.get("workout_rpe") if session else None
    perceived = rpe / 10 if isinstance(rpe, (int, float)) and 0 < rpe <= 100 else None

    file_id = chunk.file_id or {}
    serial, created = file_id.get("serial_number"), file_id.get("time_created")
    if serial and isinstance(created, int):
        key = f"fit:{file_id.get('manufacturer')}:{serial}:{created}:{plan.index_in_chunk}"
    else:
        key = f"fit-sha256:{sha256_hex}:{index}"

    sub = str(raw_sub) if raw_sub is not None else None
    measures, notes = finite_fields({
        "distance_m": float(distance) if distance is not None else None,
        "moving_time_s": float(moving) if moving is not None else None,
        "elapsed_time_s": float(elapsed) if elapsed is not None else None,
        "elevation_gain_m": float(gain) if gain is not None else None,
        "elevation_loss_m": float(loss) if loss is not None else None,
        "steep_descent_m": steep_descent(stream.dist_alt or []) if has_stream else None,
        "avg_hr": float(avg_hr) if avg_hr is not None else None,
        "max_hr": float(max_hr) if max_hr is not None else None,
    }, source=f"{name} {label}" if several else name)
    warn.extend(notes)
    for hr in ("avg_hr", "max_hr"):
        measures[hr] = round(measures[hr]) if measures[hr] is not None else None
    return ActivityRecord(
        source="fit",
        source_id=_source_id(key),
        sport=sport,
        sub_sport=sub,
        start_time=_to_datetime(start_raw),
        **measures,
        elevation_source=elevation_source,
        perceived_exertion=perceived,
        device=_device(chunk.file_id),
        name=None,
        external_id=name,
        utc_offset_s=utc_offset,
        content_hash=f"{sha256_hex}:{index}" if several else sha256_hex,
        profile=elevation_profile(stream.dist_alt or []) if has_stream else None,
        extra={"records": stream.count, "session_index": index, "has_session": session is not None,
               "has_serial": bool(serial)},
    )
