"""Absurd values in FIT files (issue 11 item 2), written with the project's encoder: an implausible
essential value refuses the file with ImplausibleValueError, an implausible optional one is dropped to
null with a notice naming the file; the engine never gets NaN, infinity or 2.8e300 m of descent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.fit import read_fit
from connectors.fit.decoding import FIT_EPOCH_S
from connectors.fit.factory import RunSpec, encode_activity, encode_multisport
from loadmon.domain import ElevationSource
from loadmon.errors import ImplausibleValueError

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = datetime(2026, 5, 30, 7, 0, tzinfo=UTC)


def run(**overrides) -> RunSpec:
    spec = dict(start=START, distance_m=1_000.0, duration_s=360, record_interval_s=5,
                altitude_profile=[(0.0, 100.0), (0.5, 120.0), (1.0, 100.0)])
    return RunSpec(**(spec | overrides))


def read(spec: RunSpec, name: str = "absurd.fit"):
    return read_fit(encode_activity(spec), name=name, now=NOW)


@pytest.mark.parametrize(("spec", "field", "value"), [
    (run(distance_m=42_949_000.0, duration_s=86_400, record_interval_s=3600), "distance_m", "42949000"),
    (run(duration_s=49 * 86_400, record_interval_s=86_400), "elapsed_time_s", "4233600"),
    (run(start=datetime.fromtimestamp(FIT_EPOCH_S + 1_000, UTC)), "start_time", "1989-12-31T00:16:40+00:00"),
    (run(start=datetime(2126, 1, 1, tzinfo=UTC)), "start_time", "2126-01-01T00:00:00+00:00"),
    (run(start=NOW + timedelta(days=3)), "start_time", (NOW + timedelta(days=3)).isoformat()),
    (run(distance_m=10_000.0, duration_s=300), "average speed", "33.3 m/s"),
], ids=["42949km", "49days", "1989", "2126", "in-3-days", "33m/s-run"])
def test_an_implausible_essential_value_refuses_the_file(spec: RunSpec, field: str, value: str) -> None:
    with pytest.raises(ImplausibleValueError) as caught:
        read(spec)
    error = caught.value
    assert (error.source, error.field, error.value) == ("absurd.fit", field, value)
    assert error.allowed and "absurd.fit" in str(error)


def test_a_negative_session_distance_is_refused_as_the_wrapped_value_the_file_holds() -> None:
    """-655 m written by a buggy device is the uint32 wrap-around in the file (42,949 km when read):
    refused, never stored as a negative or huge distance. (A FIT ascent or descent is a uint16, so an
    infinite gain cannot be written in a FIT file; ActivityRecord refuses non-finite numbers.)"""
    with pytest.raises(ImplausibleValueError) as caught:
        read(run(session_fields={"total_distance": -655.0}))
    assert caught.value.field == "distance_m" and float(caught.value.value) > 42_000_000


def test_a_plausible_edge_is_kept() -> None:
    """Not everything odd is absurd: a 3-hour 30 km trail run with 1,400 m down, HR 200, started an hour ago."""
    spec = run(distance_m=30_000.0, duration_s=3 * 3600, record_interval_s=60, max_hr=200,
               start=NOW - timedelta(hours=4), session_fields={"total_ascent": 1_400, "total_descent": 1_400})
    (activity,) = read(spec).activities
    assert (activity.distance_m, activity.elevation_loss_m, activity.max_hr) == (30_000.0, 1_400.0, 200)


@pytest.mark.parametrize(("session_fields", "field"), [
    ({"total_descent": 65_520}, "elevation_loss_m"),
    ({"total_ascent": 40_000}, "elevation_gain_m"),
    ({"max_heart_rate": 254}, "max_hr"),
    ({"avg_heart_rate": 12}, "avg_hr"),
], ids=["65520m-descent-on-1km", "40km-gain", "max-hr-254", "avg-hr-12"])
def test_an_implausible_optional_value_is_dropped_with_a_notice(session_fields: dict, field: str) -> None:
    result = read(run(session_fields=session_fields))
    (activity,) = result.activities
    assert getattr(activity, field) is None
    (notice,) = result.notices
    assert notice.startswith(f"absurd.fit: {field} = {next(iter(session_fields.values()))} is not plausible")
    assert notice in result.warnings
    assert activity.distance_m == 1_000.0  # the rest of the activity stays


def test_altitude_samples_beyond_the_plausible_range_are_ignored() -> None:
    """One record at 50 km altitude in a flat run: no 99,800 m of computed climb and descent."""
    spec = run(with_session_totals=False, altitude_profile=[(0.0, 100.0), (0.49, 100.0), (0.5, 50_000.0),
                                                            (0.51, 100.0), (1.0, 100.0)])
    (activity,) = read(spec).activities
    assert activity.elevation_source is ElevationSource.COMPUTED
    assert activity.elevation_loss_m is not None and activity.elevation_loss_m < 5.0


def test_a_short_transition_gets_no_descent_from_altitude_noise() -> None:
    """Issue 10: a 4-second T1 whose device wrote 0/0 while the GPS altitude fell 81 m got 81 m of descent."""
    swim = run(sport="swimming", sub_sport="open_water", distance_m=1_500.0, duration_s=1_800, record_interval_s=10,
               altitude_profile=None)
    t1 = run(start=swim.end, sport="transition", sub_sport="generic", distance_m=10.0, duration_s=4, record_interval_s=1,
             altitude_profile=[(0.0, 181.0), (1.0, 100.0)], session_fields={"total_ascent": 0, "total_descent": 0})
    bike = run(start=t1.end, sport="cycling", sub_sport="road", distance_m=20_000.0, duration_s=2_400,
               record_interval_s=10, altitude_profile=[(0.0, 100.0), (0.5, 150.0), (1.0, 100.0)])
    swim_act, t1_act, bike_act = read_fit(encode_multisport([swim, t1, bike]), name="tri.fit", now=NOW).activities
    assert t1_act.sport == "transition"
    assert (t1_act.elevation_loss_m, t1_act.elevation_source, t1_act.steep_descent_m) == (None, ElevationSource.NONE, None)
    assert bike_act.elevation_loss_m == 50.0 and bike_act.elevation_source is ElevationSource.DEVICE
    assert swim_act.elevation_source is ElevationSource.NONE


def test_truncated_file_is_marked_when_allowed(tmp_path: Path) -> None:
    data = encode_activity(run(duration_s=600, record_interval_s=1))
    cut = data[: len(data) - 400]
    (activity,) = read_fit(cut, name="cut.fit", allow_truncated=True, now=NOW).activities
    assert activity.truncated is True
    (whole,) = read_fit(data, name="whole.fit", now=NOW).activities
    assert whole.truncated is False


def test_an_implausible_file_is_a_per_file_error_and_the_batch_goes_on(tmp_path: Path) -> None:
    from loadmon.service import Service
    from loadmon.service.imports import import_paths
    from tests.conftest import make_config

    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    (tmp_path / "a_absurd.fit").write_bytes(encode_activity(run(start=recent, serial=1, distance_m=42_949_000.0,
                                                                duration_s=86_400, record_interval_s=3600)))
    (tmp_path / "b_hr254.fit").write_bytes(encode_activity(run(start=recent + timedelta(hours=3), serial=2,
                                                               session_fields={"max_heart_rate": 254})))
    (tmp_path / "c_good.fit").write_bytes(encode_activity(run(start=recent + timedelta(hours=6), serial=3)))
    (tmp_path / "db").mkdir()
    svc = Service.open(make_config(tmp_path / "db"))
    try:
        summary = import_paths(svc, svc.athlete(None), [tmp_path]).as_dict()
        stored = svc.store.list_activities(svc.athlete(None).id)
    finally:
        svc.close()
    assert (summary["imported"], summary["failed"], summary["new_activities"]) == (2, 1, 2)
    (failure,) = summary["failures"]
    assert failure == {"file": str(tmp_path / "a_absurd.fit"),
                       "reason": "distance_m = 42949000 is not plausible (allowed: 0 .. 2,000,000 m); not imported"}
    (notice,) = summary["notices"]
    assert notice == {"file": str(tmp_path / "b_hr254.fit"),
                      "notice": "max_hr = 254 is not plausible (allowed: 25 .. 240 bpm); dropped"}
    assert sorted(a.max_hr is None for a in stored) == [False, True]  # the 254 was stored as null
