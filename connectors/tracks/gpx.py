"""GPX 1.0/1.1 -> :class:`~connectors.tracks.points.Track` (standard library ElementTree).

One file is one activity: every ``<trk>`` and ``<trkseg>`` of it, in file order, as segments (a
watch that splits a run into several tracks or segments at pauses still gives one run; the gaps
between them count neither distance nor moving time). Heart rate from any extension element
named ``hr`` or ``heartrate`` (Garmin's TrackPointExtension, Amazfit's bare ``<heartrate>``); a
cumulative per-point ``distance`` extension (cluetrust ``gpxdata:distance``, Suunto) and
OpenTracks' ``TrackStatsExtension/Distance`` are the file's own distance. Sport from the first
``<trk><type>`` (free text, or Strava's numeric code: 9 = Run).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from connectors.tracks.points import Point, Track, first_offset
from connectors.tracks.sports import track_sport
from connectors.tracks.xmltext import child, children, local, text_of

__all__ = ["read_gpx_tracks", "parse_time"]


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time; a time without an offset is taken as UTC (GPX times are UTC by the standard)."""
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _extension_values(point: ET.Element) -> tuple[float | None, float | None]:
    """(heart rate, cumulative distance m) from a point's extensions."""
    hr = dist = None
    ext = child(point, "extensions")
    if ext is None:
        return None, None
    for e in ext.iter():
        name = local(e.tag).lower()
        if hr is None and name in ("hr", "heartrate"):
            hr = _float(text_of(e))
        elif dist is None and name == "distance":
            dist = _float(text_of(e))
    return hr, dist


def _point(e: ET.Element) -> Point:
    hr, dist = _extension_values(e)
    if hr is None:
        hr = _float(text_of(e, "heartrate"))  # Amazfit also writes a bare <heartrate>
    return Point(
        time=parse_time(text_of(e, "time")),
        lat=_float(e.get("lat")),
        lon=_float(e.get("lon")),
        ele_m=_float(text_of(e, "ele")),
        hr=hr,
        distance_m=dist,
    )


def read_gpx_tracks(root: ET.Element) -> list[Track]:
    """The activity of a GPX document (one, or none when it has no track)."""
    tracks = children(root, "trk")
    if not tracks:
        return []
    segments = []
    for trk in tracks:
        for seg in children(trk, "trkseg"):
            segments.append(tuple(_point(p) for p in children(seg, "trkpt")))
    points = [p for s in segments for p in s]
    sport_text = next((t for t in (text_of(trk, "type") for trk in tracks) if t), None)
    name = next((t for t in (text_of(trk, "name") for trk in tracks) if t), None) or text_of(child(root, "metadata"), "name")
    total = None
    for trk in tracks:
        ext = child(trk, "extensions")
        if ext is not None:
            for e in ext.iter():
                if local(e.tag) == "TrackStatsExtension":
                    total = _float(text_of(e, "Distance"))
    cumulative = [p.distance_m for p in points if p.distance_m is not None]
    if total is None and cumulative and len(cumulative) == len(points):
        total = cumulative[-1] - cumulative[0]
    return [
        Track(
            segments=tuple(segments),
            sport=track_sport(sport_text),
            name=name,
            device=root.get("creator"),
            distance_m=total,
            utc_offset_s=first_offset([p.time for p in points]),
        )
    ]
