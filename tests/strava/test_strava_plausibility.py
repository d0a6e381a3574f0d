"""Absurd values in Strava activities and streams (issue 11 item 2): refused with
ImplausibleValueError (the sync loop skips that item) or dropped to null; an altitude stream of
1e300 never gives a descent of 2.8e300 m."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.strava import record_from_activity
from connectors.strava.descent import descent_from_streams
from loadmon.domain import ElevationSource
from loadmon.errors import ImplausibleValueError

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def activity(**fields) -> dict:
    base = {"id": 4242, "name": "Morning Run", "sport_type": "Run", "start_date": "2026-05-30T07:00:00Z",
            "distance": 10_000.0, "moving_time": 3_000, "elapsed_time": 3_100, "total_elevation_gain": 120.0,
            "average_heartrate": 150.0, "max_heartrate": 175.0}
    return base | fields


def test_a_plausible_activity_maps_unchanged() -> None:
    record = record_from_activity(activity(), now=NOW)
    assert (record.distance_m, record.elapsed_time_s, record.elevation_gain_m, record.max_hr) == (10_000.0, 3_100.0, 120.0, 175)
    assert "implausible" not in record.extra


@pytest.mark.parametrize(("fields", "field", "value"), [
    ({"elapsed_time": 1_000_000_000}, "elapsed_time_s", "1000000000"),
    ({"moving_time": 1_000_000_000}, "moving_time_s", "1000000000"),
    ({"start_date": "1900-01-01T07:00:00Z"}, "start_time", "1900-01-01T07:00:00+00:00"),
    ({"start_date": "2999-01-01T07:00:00Z"}, "start_time", "2999-01-01T07:00:00+00:00"),
    ({"start_date": "9999-12-31T23:59:59Z"}, "start_time", "9999-12-31T23:59:59+00:00"),
    ({"distance": 1e12}, "distance_m", "1000000000000"),
    ({"distance": 100_000.0}, "average speed", "32.3 m/s"),
], ids=["elapsed-1e9", "moving-1e9", "1900", "2999", "9999", "1e12m", "100km-run-in-52min"])
def test_an_implausible_essential_value_refuses_the_activity(fields: dict, field: str, value: str) -> None:
    with pytest.raises(ImplausibleValueError) as caught:
        record_from_activity(activity(**fields), now=NOW)
    assert (caught.value.source, caught.value.field, caught.value.value) == ("strava activity 4242", field, value)


@pytest.mark.parametrize(("fields", "field"), [
    ({"total_elevation_gain": 1e12}, "elevation_gain_m"),
    ({"total_elevation_gain": 9_000.0}, "elevation_gain_m"),  # 900 m per km of a 10 km run
    ({"max_heartrate": 254.0}, "max_hr"),
], ids=["gain-1e12", "gain-900m/km", "max-hr-254"])
def test_an_implausible_optional_value_is_dropped(fields: dict, field: str) -> None:
    record = record_from_activity(activity(**fields), now=NOW)
    assert getattr(record, field) is None
    (warning,) = record.extra["implausible"]
    assert warning.startswith(f"strava activity 4242: {field} = ")
    assert record.distance_m == 10_000.0


def _streams(altitude: list[float], distance: list[float]) -> dict:
    return {"altitude": {"data": altitude}, "distance": {"data": distance}}


def test_an_altitude_stream_of_1e300_gives_no_absurd_descent() -> None:
    n = 600
    distance = [i * 10.0 for i in range(n)]
    absurd = [1e300 if i % 2 else 100.0 for i in range(n)]
    d = descent_from_streams(_streams(absurd, distance), activity_id=4242, total_elevation_gain_m=12.0)
    assert d.loss_m is not None and d.loss_m < 1.0  # the 1e300 samples are ignored, the rest is flat
    spiky = [100.0 + (8_000.0 if (i // 5) % 2 else 0.0) for i in range(n)]  # 8 km up and down every 5 s
    d = descent_from_streams(_streams(spiky, distance), activity_id=4242, total_elevation_gain_m=12.0, sport="running")
    assert (d.loss_m, d.source, d.note) == (12.0, ElevationSource.ESTIMATED, "stream descent implausible")
