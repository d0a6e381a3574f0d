"""Descent of a Strava activity: computed from its altitude stream, else a documented estimate.

Strava's activity JSON has ``total_elevation_gain`` but no elevation loss. loadmon computes
gain and loss from ``GET /activities/{id}/streams?keys=altitude,distance,time,heartrate`` with
:func:`loadmon.elevation.gain_loss` - the same smoothing and hysteresis as FIT records - and marks
the result :attr:`ElevationSource.COMPUTED`.

When there is no altitude stream (HTTP 404 on the streams, a manual entry, an indoor activity
without altitude, a sport whose streams loadmon does not fetch), the descent is **estimated as
equal to** ``total_elevation_gain``: most runs start and finish at the same place (loops,
out-and-backs), where what goes up comes down. It is marked :attr:`ElevationSource.ESTIMATED` so
reports and rules can tell it apart. Point-to-point runs (downhill races, uphill vertical
kilometres) break this assumption; those usually have a stream. A manual entry with a gain of 0
is taken as "not entered" and gets no elevation (:attr:`ElevationSource.NONE`).

Altitude samples outside the plausible range (:func:`connectors.plausibility.plausible_altitude`,
above -500 m up to 9,000 m) are ignored; a computed gain or loss beyond
:func:`connectors.plausibility.climb_limit_m` for the streamed distance is not believed (the
estimate is used, noted "stream descent implausible").

The steep part of the descent (at -8 % or steeper, :func:`loadmon.elevation.steep_descent`)
comes from the altitude and distance streams together; an estimate has none (``None``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from connectors.plausibility import climb_limit_m, plausible_altitude
from loadmon.domain import ElevationSource
from loadmon.elevation import elevation_profile, gain_loss, steep_descent
from loadmon.errors import StravaMalformedError

STREAM_KEYS: tuple[str, ...] = ("altitude", "distance", "time", "heartrate")


class DescentNote(StrEnum):
    """Why a descent is an estimate (stored as ``extra["descent_note"]``, the value text)."""

    MANUAL = "manual activity"
    INDOOR_FLAT = "indoor, no climbing"
    SPORT_NOT_STREAMED = "sport not streamed"
    STREAMS_MISSING = "streams 404"
    STREAMS_MALFORMED = "streams malformed"
    STREAMS_FAILED = "streams failed (HTTP 5xx)"  # Strava could not serve them now: worth reading again
    STREAMS_REFUSED = "streams refused"  # a 4xx on the streams request
    NO_ALTITUDE = "no altitude stream"
    STREAM_IMPLAUSIBLE = "stream descent implausible"  # more climb than the sport allows over the distance
    DEFERRED = "streams deferred"  # an older loop: the gain for now, its streams later from spare budget
    COVERED_BY_FIT = "covered by a FIT file"  # the same run came from a FIT file: its streams are not needed

    @property
    def retry(self) -> bool:
        """True when the streams may well be read next time (a passing server error)."""
        return self is DescentNote.STREAMS_FAILED

    @classmethod
    def of(cls, extra: Mapping[str, Any]) -> DescentNote | None:
        """The note stored in a record's ``extra`` (``None``: computed from streams, or unknown text)."""
        try:
            return cls(extra["descent_note"])
        except (KeyError, ValueError):
            return None


class Descent(NamedTuple):
    gain_m: float | None
    loss_m: float | None
    source: ElevationSource
    note: DescentNote | None = None  # why a fallback was used (None: computed from the streams)
    steep_loss_m: float | None = None  # descent at -8 % or steeper (needs the distance stream too)
    profile: tuple[tuple[float, float], ...] | None = None  # (distance m, altitude m) for the chart, thinned


def estimated_descent(total_elevation_gain_m: float | None, *, manual: bool = False,
                      note: DescentNote | None = None) -> Descent:
    """The fallback: loss = ``total_elevation_gain`` (start == end), marked ESTIMATED."""
    if total_elevation_gain_m is None or (manual and total_elevation_gain_m <= 0):
        return Descent(total_elevation_gain_m, None, ElevationSource.NONE, note)
    return Descent(total_elevation_gain_m, total_elevation_gain_m, ElevationSource.ESTIMATED, note)


def altitude_series(streams: Mapping[str, Any], *, activity_id: int) -> list[float | None] | None:
    """The ``altitude`` data of a ``key_by_type`` streams response (``None`` when absent).

    Accepts both stravalib ``Stream`` objects (``.data``) and raw JSON (``{"data": [...]}``).
    """
    return numeric_series(streams, "altitude", activity_id=activity_id)


def numeric_series(streams: Mapping[str, Any], key: str, *, activity_id: int) -> list[float | None] | None:
    """The numeric ``key`` stream (``altitude``, ``distance``, ...) of a streams response, or ``None``."""
    stream = streams.get(key)
    if stream is None:
        return None
    data = stream.get("data") if isinstance(stream, Mapping) else getattr(stream, "data", None)
    if data is None:
        return None
    if not isinstance(data, (list, tuple)):
        raise StravaMalformedError(f"Strava activity {activity_id}: {key} stream data is {type(data).__name__}, expected a list")
    out: list[float | None] = []
    for i, v in enumerate(data):
        if v is None:
            out.append(None)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise StravaMalformedError(f"Strava activity {activity_id}: {key} stream sample {i} is {v!r}, expected a number")
        else:
            out.append(float(v))
    return out


def descent_from_streams(
    streams: Mapping[str, Any],
    *,
    activity_id: int,
    total_elevation_gain_m: float | None,
    hysteresis_m: float | None = None,
    sport: str = "",
) -> Descent:
    """COMPUTED gain/loss from the altitude stream, or the estimate when it has < 2 samples
    (``sport`` chooses the per-km climb bound; unknown: the most generous one)."""
    altitudes = altitude_series(streams, activity_id=activity_id)
    if altitudes is not None:
        altitudes = [a if plausible_altitude(a) else None for a in altitudes]  # same index as distance
    if altitudes is None or sum(1 for a in altitudes if a is not None) < 2:
        return estimated_descent(total_elevation_gain_m, note=DescentNote.NO_ALTITUDE)
    gain, loss = gain_loss(altitudes) if hysteresis_m is None else gain_loss(altitudes, hysteresis_m)
    try:
        distances = numeric_series(streams, "distance", activity_id=activity_id)
    except StravaMalformedError:
        distances = None  # the descent stands; only the steep part is not measured
    distance_m = max((d for d in distances or () if d is not None), default=None)
    if max(gain, loss) > climb_limit_m(sport, distance_m):
        return estimated_descent(total_elevation_gain_m, note=DescentNote.STREAM_IMPLAUSIBLE)
    steep = profile = None
    if distances is not None and len(distances) == len(altitudes):  # Strava's streams share one index
        steep = steep_descent(zip(distances, altitudes, strict=True))
        profile = elevation_profile(zip(distances, altitudes, strict=True))
    return Descent(gain, loss, ElevationSource.COMPUTED, steep_loss_m=steep, profile=profile)
