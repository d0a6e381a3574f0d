"""Strava activity JSON (SummaryActivity / DetailedActivity) -> :class:`loadmon.domain.ActivityRecord`.

Only the fields listed in :data:`USED_FIELDS` are read; ``content_hash`` is the sha256 of their
canonical JSON, so it changes exactly when something loadmon stores changes. Descent is not in
the summary (Strava only has ``total_elevation_gain``): the connector fills it from the streams.

A field with the wrong type or an impossible value raises :class:`StravaMalformedError` naming
the activity id (and name) and the field; :func:`map_items` turns those into per-item
:class:`ItemError` entries so one bad activity never sinks a page.

Plausibility (:mod:`connectors.plausibility`, docs/fit.md "Plausibility bounds"): a start before
1990 or after tomorrow, a distance or time out of range or an impossible speed raises
:class:`loadmon.errors.ImplausibleValueError` (``source`` = ``strava activity <id>``); an
implausible gain or heart rate is dropped to null, logged and listed in ``extra["implausible"]``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

import structlog

from connectors.plausibility import check_activity
from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.errors import LoadmonError, StravaMalformedError
from loadmon.sports import normalise_strava_sport

SOURCE = "strava"
USED_FIELDS: tuple[str, ...] = (
    "id", "start_date", "utc_offset", "sport_type", "type", "distance", "moving_time", "elapsed_time",
    "total_elevation_gain", "average_heartrate", "max_heartrate", "device_name", "name", "external_id",
    "private", "visibility", "perceived_exertion", "manual", "trainer", "commute", "workout_type",
    "elev_high", "elev_low",
)
_MAX_ID = 2**63 - 1
log = structlog.get_logger("connectors.strava.mapping")


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemError:
    """One activity of a listing that could not be mapped (the others still come through)."""

    activity_id: int | None  # None when even the id is unusable
    position: int  # 0-based index in the response page
    error: LoadmonError  # StravaMalformedError, or ImplausibleValueError for a refused activity

    @property
    def reason(self) -> str:
        """The error class: ``StravaMalformedError``, ``ImplausibleValueError``..."""
        return type(self.error).__name__

    @property
    def message(self) -> str:
        return str(self.error)


def activity_label(item: Any, position: int | None = None) -> str:
    """``Strava activity 123 ("Morning Run")`` - for error messages."""
    if isinstance(item, dict):
        aid = item.get("id")
        name = item.get("name")
        label = f"Strava activity {aid}" if _is_int(aid) else (
            f"Strava activity at position {position}" if position is not None else "Strava activity (no id)")
        if isinstance(name, str) and name:
            label += f" ({name[:60]!r})"
        return label
    return f"Strava activity at position {position}" if position is not None else "Strava activity"


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _bad(item: Any, field: str, value: Any, expected: str) -> StravaMalformedError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return StravaMalformedError(f"{activity_label(item)}: field {field!r} is {shown}, expected {expected}")


def _number(item: dict[str, Any], key: str, *, lo: float = 0.0, hi: float = math.inf) -> float | None:
    v = item.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(item, key, v, f"a number in [{lo:g}, {hi:g}]")
    return float(v)


def _text(item: dict[str, Any], key: str) -> str | None:
    v = item.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise _bad(item, key, v, "a string")
    return v


# -- text sanitising (NUL and control characters, column sizes) ------------------------------
NAME_MAX = 500  # column sizes of the activities table (loadmon/storage/models.py)
DEVICE_MAX = 200
EXTERNAL_ID_MAX = 500
SPORT_TYPE_MAX = 64
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPORT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def clean_text(value: str | None, *, max_len: int) -> str | None:
    """``value`` without NUL and control characters (tab and newline become spaces), cut to
    ``max_len`` characters; ``None`` when nothing is left. PostgreSQL refuses NUL in text and
    any value longer than its column, which would otherwise fail the whole page on every run."""
    if value is None:
        return None
    text = _CONTROL.sub("", value.replace("\t", " ").replace("\n", " ")).strip()
    return text[:max_len] or None


def _sport_type(item: dict[str, Any]) -> str | None:
    """``sport_type`` (else the legacy ``type``): a Strava identifier like ``TrailRun``, at most 64 characters."""
    key = "sport_type" if item.get("sport_type") else "type"
    value = _text(item, key)
    if value is not None and (len(value) > SPORT_TYPE_MAX or not _SPORT_TYPE.fullmatch(value)):
        raise _bad(item, key, value, f"a Strava sport type (letters and digits, at most {SPORT_TYPE_MAX} characters)")
    return value


def activity_id_of(item: Any) -> int | None:
    aid = item.get("id") if isinstance(item, dict) else None
    return aid if _is_int(aid) and 0 < aid <= _MAX_ID else None


def start_time_of(item: Any) -> datetime | None:
    """``start_date`` as an aware UTC datetime, or ``None`` when absent/unreadable."""
    v = item.get("start_date") if isinstance(item, dict) else None
    if not isinstance(v, str):
        return None
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _latlng(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    lat, lng = value
    if isinstance(lat, bool) or isinstance(lng, bool) or not isinstance(lat, (int, float)) or not isinstance(lng, (int, float)):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return float(lat), float(lng)


def start_end_distance_m(item: dict[str, Any]) -> float | None:
    """Great-circle metres between the summary's ``start_latlng`` and ``end_latlng`` (``None``
    when either is missing: manual, indoor, or hidden by a privacy zone)."""
    a, b = _latlng(item.get("start_latlng")), _latlng(item.get("end_latlng"))
    if a is None or b is None:
        return None
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h))), 1)


def content_hash(item: dict[str, Any]) -> str:
    used = {k: item.get(k) for k in USED_FIELDS}
    athlete = item.get("athlete")
    used["athlete_id"] = athlete.get("id") if isinstance(athlete, dict) else None
    canonical = json.dumps(used, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_from_activity(item: Any, *, now: datetime | None = None) -> ActivityRecord:
    """Map one Strava activity (summary or detailed JSON object) to an :class:`ActivityRecord`.

    Elevation: ``elevation_gain_m`` = ``total_elevation_gain``; loss is left empty
    (``ElevationSource.NONE``) for the connector to fill from the altitude stream.
    Raises :class:`ImplausibleValueError` for an impossible start, distance, time or speed
    (``now``: the current time, default the system clock).
    """
    if not isinstance(item, dict):
        raise StravaMalformedError(f"{activity_label(item)}: expected a JSON object, got {type(item).__name__}")
    aid = activity_id_of(item)
    if aid is None:
        raise _bad(item, "id", item.get("id"), "a positive 64-bit integer")
    start = start_time_of(item)
    if start is None:
        raise _bad(item, "start_date", item.get("start_date"), "an ISO 8601 UTC time like 2018-02-04T21:56:56Z")
    sport_type = _sport_type(item)
    offset = _number(item, "utc_offset", lo=-18 * 3600, hi=18 * 3600) if item.get("utc_offset") is not None else None
    if offset is None:
        offset = local_offset(item, start)
    avg_hr = _number(item, "average_heartrate", hi=300)
    max_hr = _number(item, "max_heartrate", hi=300)
    rpe = _number(item, "perceived_exertion", hi=10)
    private_flag = item.get("private")
    if private_flag is not None and not isinstance(private_flag, bool):
        raise _bad(item, "private", private_flag, "true or false")
    visibility = _text(item, "visibility")
    athlete = item.get("athlete")
    extra: dict[str, Any] = {
        "sport_type": sport_type,
        "manual": bool(item.get("manual")),
        "trainer": bool(item.get("trainer")),
        "commute": bool(item.get("commute")),
        "workout_type": item.get("workout_type"),
        "strava_athlete_id": athlete.get("id") if isinstance(athlete, dict) else None,
        "timezone": zone_name(item.get("timezone")),
    }
    apart = start_end_distance_m(item)
    if apart is not None:
        extra["start_end_m"] = apart  # far apart: a point-to-point run (its descent is not its gain)
    record = ActivityRecord(
        source=SOURCE,
        source_id=aid,
        sport=normalise_strava_sport(sport_type),
        start_time=start,
        distance_m=_number(item, "distance"),
        moving_time_s=_number(item, "moving_time"),
        elapsed_time_s=_number(item, "elapsed_time"),
        elevation_gain_m=_number(item, "total_elevation_gain"),
        elevation_loss_m=None,
        elevation_source=ElevationSource.NONE,
        avg_hr=round(avg_hr) if avg_hr is not None else None,
        max_hr=round(max_hr) if max_hr is not None else None,
        perceived_exertion=rpe,
        device=clean_text(_text(item, "device_name"), max_len=DEVICE_MAX),
        name=clean_text(_text(item, "name"), max_len=NAME_MAX),
        external_id=clean_text(_text(item, "external_id"), max_len=EXTERNAL_ID_MAX),
        utc_offset_s=round(offset) if offset is not None else None,
        private=bool(private_flag) or visibility == "only_me",
        content_hash=content_hash(item),
        extra=extra,
    )
    record, dropped = check_activity(record, source=f"strava activity {aid}", now=now or datetime.now(UTC))
    for warning in dropped:
        log.warning("strava.activity.implausible", activity_id=aid, warning=warning)
    if dropped:
        extra["implausible"] = dropped
    return record


_ZONE = re.compile(r"^\(GMT[+-]\d{2}:\d{2}\)\s+(\S+)$")


def zone_name(value: Any) -> str | None:
    """Strava's ``timezone`` ("(GMT+00:00) Europe/London") as an IANA name ("Europe/London"); None when
    absent or not a zone this machine knows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(value, str):
        return None
    m = _ZONE.match(value.strip())
    name = m.group(1) if m else value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def local_offset(item: dict[str, Any], start: datetime) -> int | None:
    """The UTC offset (s) from ``start_date_local`` (Strava writes the local time with a "Z"), rounded to
    a quarter hour; None when absent or unusable."""
    raw = item.get("start_date_local")
    if not isinstance(raw, str):
        return None
    try:
        local = datetime.fromisoformat(raw.replace("Z", "+00:00")).replace(tzinfo=UTC)
    except ValueError:
        return None
    offset = round((local - start).total_seconds() / 900) * 900
    return offset if abs(offset) <= 18 * 3600 else None


def map_items(items: Iterable[Any]) -> tuple[list[ActivityRecord], list[ItemError]]:
    """Map a listing page; bad items become :class:`ItemError` instead of failing the page."""
    records: list[ActivityRecord] = []
    errors: list[ItemError] = []
    for position, item in enumerate(items):
        try:
            records.append(record_from_activity(item))
        except LoadmonError as e:  # malformed, or refused as implausible
            errors.append(ItemError(activity_id=activity_id_of(item), position=position, error=e))
    return records, errors
