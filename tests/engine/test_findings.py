"""Single-run distance spike (Frandsen 2025 bands) and descent spike, worked out by hand."""

from __future__ import annotations

from datetime import time

import pytest

from loadmon.engine import NO_BASE, NO_DISTANCE, NO_ELEVATION, WARMING_UP, compute_load
from tests.engine.engine_builders import activity, athlete

approx = pytest.approx


def base_runs(**kw):
    """10 km runs on days 0, 10, 20, 30 (run history starts on day 0)."""
    return [activity(d, km=10, descent_m=100, **kw) for d in (0, 10, 20, 30)]


@pytest.mark.parametrize(
    ("km", "band", "hrr", "ci"),
    [
        (9.0, "<=10%", 1.0, None),  # shorter: reference
        (11.0, "<=10%", 1.0, None),  # exactly +10 %: still the reference band
        (11.5, ">10-30%", 1.64, (1.31, 2.05)),  # +15 %
        (13.0, ">10-30%", 1.64, (1.31, 2.05)),  # exactly +30 %
        (13.1, ">30-100%", 1.52, (1.16, 2.00)),  # +31 %
        (20.0, ">30-100%", 1.52, (1.16, 2.00)),  # exactly +100 %
        (20.1, ">100%", 2.28, (1.50, 3.48)),  # +101 %
    ],
)
def test_spike_bands(km, band, hrr, ci):
    run = activity(35, km=km)
    r = compute_load([*base_runs(), run], athlete())
    f = r.finding(run.id)
    # window for day 35: days 5..34 -> the runs of days 10, 20, 30, longest 10 km
    assert f.prev_runs_30d == 3
    assert f.longest_prev_30d_km == approx(10.0)
    assert f.distance_ratio == approx(km / 10)
    assert f.distance_increase_pct == approx((km / 10 - 1) * 100)
    assert f.spike_band == band and f.spike_hrr == hrr and f.spike_hrr_ci == ci
    assert f.spike_reason is None


def test_window_is_the_30_days_before_the_run():
    long_run = activity(5, km=15)
    day35 = activity(35, km=16, at=time(9))
    day36 = activity(36, km=16, at=time(9))
    r = compute_load([*base_runs(), long_run, day35, day36], athlete())
    # day 35: window days 5..34 includes the 15 km of day 5 -> 16/15
    assert r.finding(day35.id).longest_prev_30d_km == approx(15.0)
    assert r.finding(day35.id).distance_ratio == approx(16 / 15)
    # day 36: window days 6..35: day 5 has left, day 35's 16 km is in
    assert r.finding(day36.id).longest_prev_30d_km == approx(16.0)
    assert r.finding(day36.id).longest_prev_30d_activity_id == day35.id


def test_earlier_runs_of_the_same_day_count():
    morning = activity(35, km=12, at=time(7))
    evening = activity(35, km=12, at=time(19))
    r = compute_load([*base_runs(), evening, morning], athlete())  # any input order
    assert r.finding(morning.id).distance_ratio == approx(12 / 10)
    assert r.finding(morning.id).spike_band == ">10-30%"
    assert r.finding(evening.id).distance_ratio == approx(12 / 12)
    assert r.finding(evening.id).spike_band == "<=10%"
    assert r.finding(evening.id).prev_runs_30d == 4


def test_no_base_and_warming_up_and_no_distance():
    first = activity(0, km=10)
    early = activity(20, km=25)  # day 20 < 30 days of run history
    lonely = activity(60, km=5)  # nothing in days 30..59
    no_gps = activity(61, km=None, minutes=40)
    r = compute_load([first, early, lonely, no_gps], athlete())
    f0 = r.finding(first.id)
    assert f0.spike_band is None and f0.spike_reason == WARMING_UP and f0.longest_prev_30d_km is None
    f1 = r.finding(early.id)
    assert f1.spike_band is None and f1.distance_ratio is None and f1.spike_reason == WARMING_UP
    assert f1.longest_prev_30d_km == approx(10.0)  # the fact is still reported
    f2 = r.finding(lonely.id)
    assert f2.spike_band is None and f2.spike_reason == NO_BASE and f2.prev_runs_30d == 0
    f3 = r.finding(no_gps.id)
    assert f3.spike_reason == NO_DISTANCE and f3.distance_km is None


def test_descent_ratio_percentile_and_per_km():
    # previous descents in the window: 100, 200, 300, 400 m
    prev = [activity(d, km=10, descent_m=m) for d, m in ((0, 50), (31, 100), (32, 400), (33, 200), (34, 300))]
    run = activity(40, km=8, descent_m=500)
    r = compute_load([*prev, run], athlete())
    f = r.finding(run.id)
    # window for day 40: days 10..39 -> 100, 200, 300, 400 (day 0's 50 m has left)
    assert f.largest_descent_prev_30d_m == approx(400)
    assert f.descent_ratio == approx(500 / 400)
    # p75, linear interpolation: position 0.75 * (4 - 1) = 2.25 -> 300 + 0.25 * (400 - 300) = 325
    assert f.descent_p75_prev_30d_m == approx(325)
    assert f.descent_per_km == approx(500 / 8)  # 62.5 m/km
    assert f.descent_ratio_reason is None and f.descent_p75_reason is None


def test_descent_reasons():
    prev = [activity(d, km=10, descent_m=0) for d in (0, 31)]
    flat_base = activity(40, km=10, descent_m=120)
    no_elev = activity(41, km=10)
    r = compute_load([*prev, flat_base, no_elev], athlete())
    f = r.finding(flat_base.id)
    assert f.descent_ratio is None and f.descent_ratio_reason == NO_BASE  # largest previous is 0 m
    assert f.descent_p75_prev_30d_m == 0.0
    g = r.finding(no_elev.id)
    assert g.descent_m is None and g.descent_ratio_reason == NO_ELEVATION
    assert g.descent_per_km is None and g.descent_per_km_reason == NO_ELEVATION
    # window for day 41 is days 11..40: descents 0 (day 31) and 120 (day 40): pos 0.75 -> 90
    assert g.descent_p75_prev_30d_m == approx(90)


def test_deleted_duplicates_and_other_sports_are_skipped():
    base = base_runs()
    deleted = activity(33, km=30, deleted=True)
    dup = activity(34, km=30, duplicate_of=base[0].id)
    ride = activity(34, km=60, sport="cycling", minutes=120)
    run = activity(35, km=11)
    r = compute_load([*base, deleted, dup, ride, run], athlete())
    assert r.finding(run.id).longest_prev_30d_km == approx(10.0)
    assert r.finding(deleted.id) is None and r.finding(dup.id) is None and r.finding(ride.id) is None
    assert r.day("distance_km", r.last_day).acute_7d == approx(10 + 11)  # days 29..35: runs of 30, 35


def test_findings_only_in_the_reported_period_but_window_uses_history():
    runs = [*base_runs(), activity(35, km=12)]
    r = compute_load(runs, athlete(), since=runs[-1].local_date)
    assert [f.activity_id for f in r.findings] == [runs[-1].id]
    assert r.findings[0].longest_prev_30d_km == approx(10.0)
