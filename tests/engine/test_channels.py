"""Load channels: which activities feed which channel, TRIMP/sRPE by hand, availability."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest

from loadmon.domain import Sex
from loadmon.engine import CHANNELS, EngineSettings, compute_load
from tests.engine.engine_builders import D0, activity, athlete

approx = pytest.approx


def test_distance_duration_descent_by_sport():
    acts = [
        activity(0, km=10, minutes=50, descent_m=120),
        activity(0, km=40, minutes=90, descent_m=300, sport="cycling"),
        activity(0, km=5, minutes=70, descent_m=400, sport="hiking"),
    ]
    r = compute_load(acts, athlete())
    assert r.day("distance_km", D0).load == approx(10.0)  # running only
    assert r.day("descent_m", D0).load == approx(120.0)  # running only
    assert r.day("duration_min", D0).load == approx(50 + 90 + 70)  # every sport
    hikers = EngineSettings(running_sports=frozenset({"running", "hiking"}))
    r2 = compute_load(acts, athlete(), hikers)
    assert r2.day("distance_km", D0).load == approx(15.0)
    assert r2.day("descent_m", D0).load == approx(520.0)


def test_duration_falls_back_to_elapsed_time():
    acts = [activity(0, km=10, minutes=None, elapsed_minutes=61), activity(0, km=3, minutes=20, elapsed_minutes=99)]
    r = compute_load(acts, athlete())
    assert r.day("duration_min", D0).load == approx(61 + 20)


@pytest.mark.parametrize(
    ("sex", "a", "b"),
    [(Sex.MALE, 0.64, 1.92), (Sex.FEMALE, 0.86, 1.67), (None, 0.725215, 1.795)],
)
def test_banister_trimp_by_hand(sex, a, b):
    run = activity(0, km=10, minutes=50, avg_hr=150)
    r = compute_load([run], athlete(hr_rest=50, hr_max=190, sex=sex))
    hrr = (150 - 50) / (190 - 50)  # 0.714286
    expected = 50 * hrr * a * math.exp(b * hrr)
    assert r.day("trimp", D0).load == approx(expected, rel=1e-6)


def test_trimp_hrr_is_clamped():
    acts = [activity(0, km=5, minutes=30, avg_hr=40), activity(1, km=5, minutes=30, avg_hr=200)]
    r = compute_load(acts, athlete(hr_rest=50, hr_max=190, sex=Sex.MALE))
    assert r.day("trimp", D0).load == 0.0  # HRr below 0 -> 0
    assert r.day("trimp", r.last_day).load == approx(30 * 1.0 * 0.64 * math.exp(1.92), rel=1e-6)


def test_srpe_is_rpe_times_minutes():
    acts = [activity(0, km=10, minutes=40, rpe=6), activity(0, km=20, minutes=60, rpe=3, sport="cycling")]
    r = compute_load(acts, athlete())
    assert r.day("srpe", D0).load == approx(6 * 40 + 3 * 60)


def test_channels_without_data_are_unavailable_with_a_reason():
    r = compute_load([activity(0, km=10, minutes=50)], athlete())
    assert set(r.channels) == set(CHANNELS)
    assert r.available_channels == ("distance_km", "duration_min")
    trimp = r.channels["trimp"]
    assert not trimp.available and trimp.reason == "athlete hr_rest/hr_max unknown" and trimp.days == ()
    assert r.channels["srpe"].reason == "no activities with a perceived exertion (RPE)"
    assert r.channels["descent_m"].reason == "no running activities with elevation-loss data"
    with pytest.raises(KeyError, match="not available"):
        r.day("trimp", D0)
    r2 = compute_load([activity(0, km=10, minutes=50)], athlete(hr_rest=50, hr_max=190))
    assert r2.channels["trimp"].reason == "no activities with an average heart rate"


def test_channel_history_starts_with_its_first_data():
    # HR only from day 10: TRIMP warms up from day 10, distance from day 0
    acts = [activity(i, km=8, minutes=45, avg_hr=140 if i >= 10 else None) for i in range(45)]
    r = compute_load(acts, athlete(hr_rest=50, hr_max=190, sex=Sex.MALE))
    assert r.history_start == D0
    assert r.channels["distance_km"].history_start == D0
    trimp = r.channels["trimp"]
    assert (trimp.history_start - D0).days == 10
    assert trimp.activities_counted == 35 and trimp.activities_missing == 10
    day30 = r.dates[30]
    assert r.day("distance_km", day30).acwr_rolling_coupled is not None
    t = r.day("trimp", day30)
    assert t.history_days == 21 and t.acwr_rolling_coupled is None and t.acwr_rolling_coupled_reason == "warming up"


def test_missing_and_non_finite_inputs_count_as_missing():
    acts = [
        activity(0, distance_m=float("nan"), minutes=30, descent_m=float("inf")),
        activity(0, distance_m=-5.0, minutes=30),
        activity(1, km=5, minutes=30, descent_m=50),
    ]
    r = compute_load(acts, athlete())
    assert r.day("distance_km", D0).load == 0.0
    assert r.channels["distance_km"].activities_missing == 2
    assert r.channels["descent_m"].activities_missing == 2


def test_to_dict_keys_are_stable_and_json_safe():
    acts = [activity(i, km=5 + i % 3, minutes=30, descent_m=40) for i in range(40)]
    r = compute_load(acts, athlete())
    d = r.day("distance_km", r.last_day).to_dict()
    for key in ("acute_7d", "previous_7d", "ramp_pct", "ramp_reason", "chronic_weekly", "acwr",
                "acwr_reason", "acwr_zone", "fitness", "fatigue", "form", "monotony", "strain"):
        assert key in d
    assert set(d["acwr"]) == set(d["acwr_reason"]) == set(d["acwr_zone"]) == {
        "rolling_coupled", "rolling_uncoupled", "ewma"}
    json.dumps(r.status(r.last_day), allow_nan=False)
    json.dumps([f.to_dict() for f in r.findings], allow_nan=False)
    early = r.day("distance_km", D0).to_dict()
    assert early["acwr"] == {"rolling_coupled": None, "rolling_uncoupled": None, "ewma": None}
    assert early["acwr_reason"]["ewma"] == "warming up"


def test_no_activities_and_bad_arguments():
    r = compute_load([], athlete())
    assert r.history_start is None and r.findings == () and r.available_channels == ()
    assert r.channels["distance_km"].reason == "no activities"
    with pytest.raises(ValueError, match="since"):
        compute_load([], athlete(), since=D0, until=D0 - timedelta(days=1))
    with pytest.raises(ValueError, match="belongs to athlete 2"):
        compute_load([activity(0, km=5, athlete_id=2)], athlete())
    with pytest.raises(ValueError, match="pmc_convention"):
        EngineSettings(pmc_convention="linear")
    with pytest.raises(ValueError, match="acute_days"):
        EngineSettings(acute_days=28, chronic_days=28)
    with pytest.raises(ValueError, match="warmup_days"):
        EngineSettings(warmup_days=7)


def test_since_and_until_bound_the_series():
    acts = [activity(i, km=5) for i in range(0, 60, 2)]
    r = compute_load(acts, athlete(), since=D0.replace(day=10), until=D0.replace(day=20))
    assert r.first_day == D0.replace(day=10) and r.last_day == D0.replace(day=20)
    assert len(r.channels["distance_km"]) == 11
    # since before the history start is clamped to it
    r2 = compute_load(acts, athlete(), since=D0.replace(year=2023))
    assert r2.first_day == D0
    # until after the last activity adds zero-load days
    r3 = compute_load(acts, athlete(), until=D0.replace(month=3, day=31))
    assert r3.day("distance_km", r3.last_day).load == 0.0
    with pytest.raises(KeyError, match="outside"):
        r.day("distance_km", D0)


def test_result_objects_are_complete_frozen_dataclasses():
    from dataclasses import FrozenInstanceError, fields

    from loadmon.engine import ActivityFinding, DayMetrics

    acts = [activity(i, km=5 + i % 4, minutes=30, descent_m=40 + i) for i in range(0, 50, 2)]
    r = compute_load(acts, athlete())
    series = r.channels["distance_km"]
    for m in (series.day(r.last_day), series.days[-1], series.days[3]):
        assert set(vars(m)) == {f.name for f in fields(DayMetrics)}
        assert DayMetrics(**vars(m)) == m  # the engine's objects equal __init__-built ones
    assert series.day(r.last_day) == series.days[-1]
    for f in r.findings:
        assert set(vars(f)) == {x.name for x in fields(ActivityFinding)}
        assert ActivityFinding(**vars(f)) == f
    with pytest.raises(FrozenInstanceError):
        r.findings[0].distance_km = 1.0  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        series.days[0].load = 1.0  # type: ignore[misc]


def test_a_day_without_heart_rate_has_no_trimp_not_zero():
    # day 0 with HR; day 1 only a run without HR (unknown, not 0); day 2 one with and one without
    # HR (the TRIMP of the one with it); day 3 no activity at all (a zero-load day)
    acts = [activity(0, km=8, minutes=45, avg_hr=150), activity(1, km=8, minutes=45),
            activity(2, km=8, minutes=45, avg_hr=150), activity(2, km=5, minutes=30), activity(4, km=5, minutes=30,
                                                                                               avg_hr=150)]
    r = compute_load(acts, athlete(hr_rest=50, hr_max=190, sex=Sex.MALE))
    first = r.day("trimp", D0)
    assert first.load is not None and first.load > 0 and first.load_reason is None
    no_hr = r.day("trimp", D0 + timedelta(days=1))
    assert no_hr.load is None and no_hr.load_reason == "no heart rate"
    assert no_hr.to_dict()["load"] is None and no_hr.to_dict()["load_reason"] == "no heart rate"
    mixed = r.day("trimp", D0 + timedelta(days=2))
    assert mixed.load == approx(first.load) and mixed.load_reason is None
    rest = r.day("trimp", D0 + timedelta(days=3))
    assert rest.load == 0.0 and rest.load_reason is None
    # the sums cover the activities with heart rate (an unknown day adds nothing to them)
    assert r.day("trimp", D0 + timedelta(days=4)).acute_7d == approx(2 * first.load + r.day("trimp", D0 + timedelta(days=4)).load)
    assert r.channels["trimp"].activities_missing == 2
    # other channels are unaffected
    assert r.day("distance_km", D0 + timedelta(days=1)).load == 8.0
    assert r.day("distance_km", D0 + timedelta(days=1)).load_reason is None
