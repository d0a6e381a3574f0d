"""TCX (Garmin Training Center XML) -> :class:`~connectors.tracks.points.Track` (standard library ElementTree).

Each ``<Activity>`` is one activity, also inside a ``MultiSportSession`` (a FR305 file holds two runs
and two rides over nine days); each lap's
``<Track>`` a segment. Sport from the ``Sport`` attribute (Running, Biking, Other). The file's own
distance: the sum of the laps' ``DistanceMeters``, else the last ``Trackpoint/DistanceMeters``
minus the first, else the track points' great-circle sum. Heart rate from ``HeartRateBpm/Value``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from connectors.tracks.gpx import parse_time
from connectors.tracks.points import Point, Track, first_offset
from connectors.tracks.sports import track_sport
from connectors.tracks.xmltext import child, children, local, text_of

__all__ = ["read_tcx_tracks"]


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _point(tp: ET.Element) -> Point:
    pos = child(tp, "Position")
    hr = child(tp, "HeartRateBpm")
    return Point(
        time=parse_time(text_of(tp, "Time")),
        lat=_float(text_of(pos, "LatitudeDegrees")) if pos is not None else None,
        lon=_float(text_of(pos, "LongitudeDegrees")) if pos is not None else None,
        ele_m=_float(text_of(tp, "AltitudeMeters")),
        hr=_float(text_of(hr, "Value")) if hr is not None else None,
        distance_m=_float(text_of(tp, "DistanceMeters")),
    )


def read_tcx_tracks(root: ET.Element) -> list[Track]:
    out: list[Track] = []
    activities_el = child(root, "Activities")
    if activities_el is None:
        return out
    # Activities/Activity, and the Activity elements of a MultiSportSession (FirstSport, NextSport)
    for act in (e for e in activities_el.iter() if local(e.tag) == "Activity"):
        segments = []
        lap_total = 0.0
        lap_known = False
        for lap in children(act, "Lap"):
            d = _float(text_of(lap, "DistanceMeters"))
            if d is not None and d > 0:
                lap_total += d
                lap_known = True
            for track in children(lap, "Track"):
                segments.append(tuple(_point(tp) for tp in children(track, "Trackpoint")))
        points = [p for s in segments for p in s]
        if not points:  # laps without a track (a summary): each lap's start and end
            for lap in children(act, "Lap"):
                start, secs = parse_time(lap.get("StartTime")), _float(text_of(lap, "TotalTimeSeconds"))
                if start is not None and secs is not None and secs > 0:
                    segments.append((Point(time=start), Point(time=start + timedelta(seconds=secs))))
            points = [p for s in segments for p in s]
        cumulative = [p.distance_m for p in points if p.distance_m is not None]
        total = lap_total if lap_known else (cumulative[-1] - cumulative[0] if len(cumulative) >= 2 else None)
        creator = child(act, "Creator")
        device = text_of(creator, "Name") if creator is not None else None
        out.append(
            Track(
                segments=tuple(segments),
                sport=track_sport(act.get("Sport")),
                name=text_of(act, "Notes"),
                device=device,
                distance_m=total,
                utc_offset_s=first_offset([p.time for p in points]),
            )
        )
    return out
