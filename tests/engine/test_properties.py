"""Property tests (hypothesis) and a brute-force reference model of every daily metric.

The reference model below recomputes each metric the slow, obvious way (a fresh sum over
each window, statistics.pstdev for monotony, explicit EWMA loops); it shares no code with the
engine.
"""

from __future__ import annotations

import math
import statistics
from datetime import time, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loadmon.engine import ACWR_KINDS, compute_load
from tests.engine.engine_builders import D0, activity, athlete

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# daily distances in whole metres (0 = rest day); exact in the engine's micro-units
daily_metres = st.lists(
    st.one_of(st.just(0), st.just(0), st.integers(min_value=500, max_value=40_000)), min_size=1, max_size=110
)


def runs_from(metres: list[int], *, first: int = 0, scale: int = 1):
    acts = []
    for i, m in enumerate(metres):
        if m:
            acts.append(activity(first + i, distance_m=float(m * scale), minutes=m / 200))
    return acts


RATIO_FIELDS = ("ramp_pct", "acwr_rolling_coupled", "acwr_rolling_uncoupled", "acwr_ewma", "monotony")


def reference_model(loads: list[float], start: int) -> list[dict]:
    """Every metric of every day, the slow way (default windows: 7 / 28, warm-up 28)."""

    def window(t: int, first: int, last: int) -> list[float]:
        return [loads[d] if d >= 0 else 0.0 for d in range(first, last + 1)]

    out = []
    seed_days = loads[start:start + 28]
    e7 = e28 = sum(seed_days) / len(seed_days)
    ctl = atl = 0.0
    prev_ctl = prev_atl = 0.0
    ctl_hist = []
    for t, x in enumerate(loads):
        hist = max(0, t - start + 1)
        warm = hist < 28
        acute = sum(window(t, t - 6, t))
        previous = sum(window(t, t - 13, t - 7))
        chronic = sum(window(t, t - 27, t))
        unc = sum(window(t, t - 27, t - 7))
        week = window(t, t - 6, t)
        sd = statistics.pstdev(week)
        if t >= start:
            e7 = 0.25 * x + 0.75 * e7
            e28 = (2 / 29) * x + (27 / 29) * e28
        form = prev_ctl - prev_atl
        ctl = math.exp(-1 / 42) * ctl + (1 - math.exp(-1 / 42)) * x
        atl = math.exp(-1 / 7) * atl + (1 - math.exp(-1 / 7)) * x
        ctl_hist.append(ctl)
        prev_ctl, prev_atl = ctl, atl
        row = {
            "load": x, "history_days": hist, "acute_7d": acute, "previous_7d": previous,
            "ramp_pct": None if hist < 28 or previous == 0 else (acute / previous - 1) * 100,
            "chronic_weekly": None if warm else chronic / 28 * 7,
            "acwr_rolling_coupled": None if warm or chronic == 0 else (acute / 7) / (chronic / 28),
            "acwr_rolling_uncoupled": None if warm or unc == 0 else (acute / 7) / (unc / 21),
            "acwr_ewma": None if warm or e28 < 1e-6 else e7 / e28,
            "monotony": None if warm or sd == 0 else (acute / 7) / sd,
            "fitness": ctl, "fatigue": atl, "form": form,
            "ctl_ramp": ctl - (ctl_hist[t - 7] if t >= 7 else 0.0),
        }
        out.append(row)
    return out


def assert_close(a, b, what):
    if a is None or b is None:
        assert a is None and b is None, what
    else:
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9), what


@FAST
@given(metres=daily_metres, lead_in=st.integers(min_value=0, max_value=3))
def test_engine_matches_brute_force_reference(metres, lead_in):
    assume(any(metres))
    acts = runs_from(metres, first=lead_in)
    # a walk on day 0 starts the athlete's history before the first run (distance channel
    # history still starts with its own first data)
    acts.append(activity(0, sport="walking", minutes=30))
    last = D0 + timedelta(days=lead_in + len(metres) - 1)
    r = compute_load(acts, athlete(), until=last)
    loads = [0.0] * lead_in + [m / 1000 for m in metres]
    start = next(i for i, x in enumerate(loads) if x)
    ref = reference_model(loads, start)
    series = r.channels["distance_km"]
    assert len(series) == len(ref)
    for t, (m, want) in enumerate(zip(series.days, ref)):
        for key, value in want.items():
            assert_close(getattr(m, key), value, (t, key))


@FAST
@given(km=st.integers(min_value=1, max_value=50), days=st.integers(min_value=28, max_value=90))
def test_constant_daily_load_gives_acwr_one_after_warm_up(km, days):
    r = compute_load(runs_from([km * 1000] * days), athlete())
    for m in r.channels["distance_km"].days:
        if m.history_days >= 28:
            for kind in ACWR_KINDS:
                assert m.acwr(kind).value == pytest.approx(1.0, rel=1e-12)
            assert m.ramp_pct == pytest.approx(0.0, abs=1e-9)
            assert m.monotony is None and m.monotony_reason == "no variation"
        else:
            assert all(m.acwr(kind) == (None, "warming up") for kind in ACWR_KINDS)


@FAST
@given(metres=daily_metres, k=st.integers(min_value=2, max_value=7))
def test_scaling_every_load_leaves_every_ratio_unchanged(metres, k):
    assume(any(metres))
    base = compute_load(runs_from(metres), athlete())
    scaled = compute_load(runs_from(metres, scale=k), athlete())
    for a, b in zip(base.channels["distance_km"].days, scaled.channels["distance_km"].days):
        for name in RATIO_FIELDS:
            assert_close(getattr(a, name), getattr(b, name), name)
        assert a.to_dict()["acwr_reason"] == b.to_dict()["acwr_reason"]
        assert a.ramp_reason == b.ramp_reason and a.monotony_reason == b.monotony_reason
        assert b.acute_7d == pytest.approx(a.acute_7d * k)
    for fa, fb in zip(base.findings, scaled.findings):
        assert_close(fa.distance_ratio, fb.distance_ratio, "distance_ratio")
        assert fa.spike_band == fb.spike_band and fa.spike_reason == fb.spike_reason


@FAST
@given(metres=daily_metres, where=st.integers(min_value=0, max_value=200))
def test_a_zero_load_day_never_raises_the_acute_sum(metres, where):
    assume(any(metres))
    acts = runs_from(metres)
    r = compute_load(acts, athlete())
    # one more (zero-load) day at the end: acute(t+1) = acute(t) - load(t-6) <= acute(t)
    r2 = compute_load(acts, athlete(), until=r.last_day + timedelta(days=1))
    assert r2.day("distance_km", r2.last_day).acute_7d <= r.day("distance_km", r.last_day).acute_7d
    # a zero-distance run on some day changes no distance sum (it may start the history earlier)
    day = min(where, len(metres) - 1)
    r3 = compute_load([*acts, activity(day, distance_m=0.0, minutes=10)], athlete())
    for d in r.dates:
        assert r3.day("distance_km", d).acute_7d == r.day("distance_km", d).acute_7d


values = st.one_of(
    st.none(), st.just(float("nan")), st.just(float("inf")), st.just(-1.0), st.just(0.0),
    st.floats(min_value=0.001, max_value=1e5, allow_nan=False),
)


@st.composite
def messy_activities(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    acts = []
    for _ in range(n):
        acts.append(activity(
            draw(st.integers(min_value=0, max_value=80)),
            distance_m=draw(values), minutes=draw(values), elapsed_minutes=draw(values), descent_m=draw(values),
            avg_hr=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=250))),
            rpe=draw(st.one_of(st.none(), st.floats(min_value=-2, max_value=12, allow_nan=False))),
            sport=draw(st.sampled_from(["running", "trail_running", "cycling", "walking"])),
        ))
    return acts


@FAST
@given(acts=messy_activities(), hr=st.booleans())
@pytest.mark.slow
def test_no_metric_is_ever_nan_or_infinite(acts, hr):
    who = athlete(hr_rest=50, hr_max=190) if hr else athlete()
    r = compute_load(acts, who)
    for series in r.channels.values():
        for name, column in series.columns.items():
            for v in column:
                assert v is None or isinstance(v, (bool, int, str)) or math.isfinite(v), (series.name, name, v)
    for f in r.findings:
        for k, v in f.to_dict().items():
            assert not isinstance(v, float) or math.isfinite(v), (k, v)


@FAST
@given(metres=daily_metres, cut=st.integers(min_value=0, max_value=120))
def test_no_look_ahead_and_since_does_not_change_values(metres, cut):
    assume(any(metres))
    acts = runs_from(metres)
    full = compute_load(acts, athlete())
    until = min(full.last_day, D0 + timedelta(days=cut))
    assume(until >= full.first_day)
    early = compute_load(acts, athlete(), until=until)
    late = compute_load(acts, athlete(), since=until)
    for d in early.dates:
        assert early.status(d) == full.status(d)
    for d in late.dates:
        assert late.status(d) == full.status(d)
    assert [f.to_dict() for f in late.findings] == [f.to_dict() for f in full.findings if f.local_date >= until]


@FAST
@given(metres=daily_metres, same_day=st.integers(min_value=0, max_value=109))
def test_findings_match_brute_force(metres, same_day):
    assume(any(metres))
    # descents from the distance (some runs without elevation data), plus a second run on one day
    acts = [activity(i, distance_m=float(m), descent_m=None if m % 5 == 0 else float(m % 701), at=time(7))
            for i, m in enumerate(metres) if m]
    acts.append(activity(min(same_day, len(metres) - 1), distance_m=5000.0, descent_m=90.0, at=time(18)))
    r = compute_load(acts, athlete())
    first_run = min(a.local_date for a in acts)
    for a in acts:
        f = r.finding(a.id)
        prev = [b for b in acts if a.local_date - timedelta(days=30) <= b.local_date < a.local_date
                or (b.local_date == a.local_date and b.start_time < a.start_time)]
        assert f.prev_runs_30d == len(prev)
        longest = max((b.distance_m for b in prev), default=None)
        descents = sorted(b.elevation_loss_m for b in prev if b.elevation_loss_m is not None)
        if (a.local_date - first_run).days < 30:
            assert f.spike_reason == "warming up" and f.spike_band is None
            assert f.descent_p75_prev_30d_m is None and f.descent_p75_reason == "warming up"
            continue
        if longest is None:
            assert f.spike_reason == "no base"
        else:
            assert f.distance_ratio == pytest.approx(a.distance_m / longest)
            assert f.longest_prev_30d_km == pytest.approx(longest / 1000)
        if not descents:
            assert f.descent_p75_prev_30d_m is None and f.descent_p75_reason == "no base"
        else:
            want = descents[0] if len(descents) == 1 else statistics.quantiles(descents, n=4, method="inclusive")[2]
            assert f.descent_p75_prev_30d_m == pytest.approx(want)
            assert f.largest_descent_prev_30d_m == descents[-1]
            if a.elevation_loss_m is not None and descents[-1] > 0:
                assert f.descent_ratio == pytest.approx(a.elevation_loss_m / descents[-1])
