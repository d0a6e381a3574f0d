"""Hand-computed reference cases: every expected number is worked out here, not by the engine."""

from __future__ import annotations

import math
from datetime import timedelta
from fractions import Fraction as F

import pytest

from loadmon.engine import NO_BASE, NO_VARIATION, WARMING_UP, EngineSettings, acwr_zone, compute_load
from tests.engine.engine_builders import D0, activity, athlete, daily_runs

approx = pytest.approx


def day(i: int):
    return D0 + timedelta(days=i)


# --- Case A: default windows. Days 0..27: 5 km/day; days 28..34: 8, 0, 12, 0, 10, 6, 14 km.
WEEK5 = [8, 0, 12, 0, 10, 6, 14]
CASE_A = daily_runs([5] * 28 + WEEK5)


def test_case_a_first_reported_day_is_day_27():
    r = compute_load(CASE_A, athlete())
    d26 = r.day("distance_km", day(26))
    assert d26.history_days == 27
    for value, reason in ((d26.ramp_pct, d26.ramp_reason),
                          (d26.acwr_rolling_coupled, d26.acwr_rolling_coupled_reason),
                          (d26.acwr_rolling_uncoupled, d26.acwr_rolling_uncoupled_reason),
                          (d26.acwr_ewma, d26.acwr_ewma_reason),
                          (d26.monotony, d26.monotony_reason),
                          (d26.chronic_weekly, d26.chronic_reason)):
        assert value is None and reason == WARMING_UP
    # sums are reported from day one
    assert d26.acute_7d == approx(35.0)
    d27 = r.day("distance_km", day(27))
    assert d27.history_days == 28 and not d27.warming_up
    # acute = 7 * 5 = 35, previous = 7 * 5 = 35 -> ramp 0 %; chronic mean 140 / 28 = 5
    assert d27.ramp_pct == approx(0.0)
    assert d27.acwr_rolling_coupled == approx((35 / 7) / (140 / 28))  # = 1.0
    assert d27.acwr_rolling_uncoupled == approx((35 / 7) / (105 / 21))  # = 1.0
    # EWMA seeded with the mean of days 0..27 (= 5) stays exactly 5: ratio 1.0
    assert d27.acwr_ewma == approx(1.0)
    # seven equal days: SD 0 -> no monotony, no strain
    assert d27.monotony is None and d27.monotony_reason == NO_VARIATION
    assert d27.strain is None and d27.strain_reason == NO_VARIATION


def test_case_a_day_34_rolling_ratios_ramp_monotony():
    r = compute_load(CASE_A, athlete())
    m = r.day("distance_km", day(34))
    acute = 8 + 0 + 12 + 0 + 10 + 6 + 14  # = 50
    previous = 7 * 5  # days 21..27 = 35
    chronic_sum = 21 * 5 + acute  # days 7..27 plus days 28..34 = 155
    assert m.load == approx(14.0)
    assert m.acute_7d == approx(50.0)
    assert m.previous_7d == approx(previous)
    assert m.ramp_pct == approx((50 / 35 - 1) * 100)  # 42.857 %
    assert m.chronic_28d == approx(155 / 28)
    assert m.chronic_weekly == approx(155 / 28 * 7)  # 38.75 km/week
    assert m.chronic_uncoupled_weekly == approx(105 / 21 * 7)  # 35 km/week
    coupled = (acute / 7) / (chronic_sum / 28)  # = 200 / 155 = 1.2903
    uncoupled = (acute / 7) / (105 / 21)  # = 10 / 7 = 1.4286
    assert m.acwr_rolling_coupled == approx(coupled)
    assert m.acwr_rolling_uncoupled == approx(uncoupled)
    assert acwr_zone(coupled) == "sweet_spot" and acwr_zone(uncoupled) == "caution"
    assert m.to_dict()["acwr_zone"]["rolling_coupled"] == "sweet_spot"
    assert m.to_dict()["acwr_zone"]["rolling_uncoupled"] == "caution"
    # Foster monotony, population SD: mean 50/7, sum of squares 64+144+100+36+196 = 540,
    # variance 540/7 - (50/7)^2 = 1280/49, SD = sqrt(1280)/7 -> monotony = 50 / sqrt(1280)
    mean = 50 / 7
    var = (64 + 0 + 144 + 0 + 100 + 36 + 196) / 7 - mean ** 2
    assert var == approx(1280 / 49)
    assert m.monotony == approx(mean / math.sqrt(var))  # 1.3975
    assert m.monotony == approx(50 / math.sqrt(1280))
    assert m.strain == approx(50 * 50 / math.sqrt(1280))  # weekly load * monotony = 69.88


def test_case_a_day_34_ewma():
    r = compute_load(CASE_A, athlete())
    m = r.day("distance_km", day(34))
    # Williams: lambda7 = 2/8 = 0.25, lambda28 = 2/29; both seeded with 5 (mean of days 0..27)
    # and flat at 5 through day 27. EWMA7 by hand:
    # d28 0.25*8 + 0.75*5 = 5.75; d29 0.75*5.75 = 4.3125; d30 3 + 0.75*4.3125 = 6.234375;
    # d31 0.75*6.234375 = 4.67578125; d32 2.5 + 0.75*4.67578125 = 6.0068359375;
    # d33 1.5 + 0.75*6.0068359375 = 6.005126953125; d34 3.5 + 0.75*6.005126953125
    e7 = 3.5 + 0.75 * 6.005126953125
    assert e7 == 8.00384521484375
    # EWMA28, one step per day of week 5: c = 2/29 * x + 27/29 * c, from c = 5
    c = F(5)
    c = F(2, 29) * 8 + F(27, 29) * c
    c = F(2, 29) * 0 + F(27, 29) * c
    c = F(2, 29) * 12 + F(27, 29) * c
    c = F(2, 29) * 0 + F(27, 29) * c
    c = F(2, 29) * 10 + F(27, 29) * c
    c = F(2, 29) * 6 + F(27, 29) * c
    c = F(2, 29) * 14 + F(27, 29) * c
    assert m.ewma_acute == approx(e7)
    assert m.ewma_chronic == approx(float(c))
    assert m.acwr_ewma == approx(e7 / float(c))


# --- Case B: tiny windows (acute 2, chronic 4, warm-up 4) so every EWMA step is written out.
SMALL = EngineSettings(acute_days=2, chronic_days=4, warmup_days=4, ramp_warmup_days=4)
CASE_B = daily_runs([4, 0, 2, 2, 8, 0])  # day 5 is a rest day: pass until


def test_case_b_small_windows_by_hand():
    r = compute_load(CASE_B, athlete(), SMALL, until=day(5))
    assert [d.isoformat() for d in r.dates] == [day(i).isoformat() for i in range(6)]
    d2 = r.day("distance_km", day(2))
    assert d2.acwr_ewma is None and d2.acwr_ewma_reason == WARMING_UP
    assert d2.ramp_pct is None and d2.ramp_reason == WARMING_UP

    d3 = r.day("distance_km", day(3))  # 4 days of history: reported
    # acute (days 2,3) 2+2 = 4; previous (0,1) 4+0 = 4; chronic (0..3) 8; uncoupled chronic (0,1) 4
    assert d3.ramp_pct == approx(0.0)
    assert d3.acwr_rolling_coupled == approx((4 / 2) / (8 / 4))  # 1.0
    assert d3.acwr_rolling_uncoupled == approx((4 / 2) / (4 / 2))  # 1.0
    assert d3.monotony is None and d3.monotony_reason == NO_VARIATION  # 2, 2

    d4 = r.day("distance_km", day(4))
    # acute (3,4) 2+8 = 10; previous (1,2) 0+2 = 2; chronic (1..4) 0+2+2+8 = 12; uncoupled (1,2) 2
    assert d4.ramp_pct == approx((10 / 2 - 1) * 100)  # 400 %
    assert d4.acwr_rolling_coupled == approx((10 / 2) / (12 / 4))  # 5/3
    assert d4.acwr_rolling_uncoupled == approx((10 / 2) / (2 / 2))  # 5
    assert d4.monotony == approx(5 / 3)  # values 2, 8: mean 5, population SD 3
    assert d4.strain == approx(10 * 5 / 3)

    d5 = r.day("distance_km", day(5))
    # acute (4,5) 8+0 = 8; previous (2,3) 4; chronic (2..5) 12; uncoupled (2,3) 4
    assert d5.load == 0.0
    assert d5.ramp_pct == approx((8 / 4 - 1) * 100)  # 100 %
    assert d5.acwr_rolling_coupled == approx((8 / 2) / (12 / 4))  # 4/3
    assert d5.acwr_rolling_uncoupled == approx((8 / 2) / (4 / 2))  # 2
    assert d5.monotony == approx(1.0)  # values 8, 0: mean 4, SD 4

    # EWMA: lambda_a = 2/3, lambda_c = 2/5, both seeded with the mean of the 4 warm-up days
    # (4+0+2+2)/4 = 2.  a: 10/3, 10/9, 46/27, 154/81, 1450/243.  c: 14/5, 42/25, 226/125,
    # 1178/625, 13534/3125.
    ea = [F(10, 3), F(10, 9), F(46, 27), F(154, 81), F(1450, 243)]
    ec = [F(14, 5), F(42, 25), F(226, 125), F(1178, 625), F(13534, 3125)]
    assert ea[1] == F(2, 3) * 0 + F(1, 3) * ea[0] and ec[4] == F(2, 5) * 8 + F(3, 5) * ec[3]
    assert d3.ewma_acute == approx(float(ea[3])) and d3.ewma_chronic == approx(float(ec[3]))
    assert d3.acwr_ewma == approx(float(F(154, 81) / F(1178, 625)))  # 1.0087
    assert d4.acwr_ewma == approx(float(F(1450, 243) / F(13534, 3125)))  # 1.3778


def test_pmc_exp_and_ewma_conventions_constant_load():
    runs = daily_runs([10] * 20)
    L = 10.0
    exp_r = compute_load(runs, athlete())
    # exp convention: CTL_t = L * (1 - exp(-(t+1)/42)), ATL_t = L * (1 - exp(-(t+1)/7))
    for t in (0, 6, 19):
        m = exp_r.day("distance_km", day(t))
        assert m.fitness == approx(L * (1 - math.exp(-(t + 1) / 42)))
        assert m.fatigue == approx(L * (1 - math.exp(-(t + 1) / 7)))
    # form = yesterday's CTL - yesterday's ATL; 0 on the first day
    assert exp_r.day("distance_km", day(0)).form == 0.0
    m5 = exp_r.day("distance_km", day(5))
    assert m5.form == approx(L * (1 - math.exp(-5 / 42)) - L * (1 - math.exp(-5 / 7)))
    # ramp = CTL_7 - CTL_0
    assert exp_r.day("distance_km", day(7)).ctl_ramp == approx(L * (math.exp(-1 / 42) - math.exp(-8 / 42)))
    # ewma convention: keep = 1 - 2/(N+1): CTL_t = L * (1 - (41/43)^(t+1))
    ewma_r = compute_load(runs, athlete(), EngineSettings(pmc_convention="ewma"))
    m = ewma_r.day("distance_km", day(19))
    assert m.fitness == approx(L * (1 - (41 / 43) ** 20))
    assert m.fatigue == approx(L * (1 - (6 / 8) ** 20))


def test_break_gives_no_base_not_zero_or_inf():
    # 35 days of 6 km, 35 days off, then one 8 km run on day 70
    runs = daily_runs([6] * 35) + [activity(70, km=8)]
    r = compute_load(runs, athlete())
    m = r.day("distance_km", day(70))
    # previous 7 days (63..69) are zero -> ramp has no base
    assert m.ramp_pct is None and m.ramp_reason == NO_BASE
    # uncoupled chronic (days 43..63) is zero -> no base
    assert m.acwr_rolling_uncoupled is None and m.acwr_rolling_uncoupled_reason == NO_BASE
    # coupled chronic contains the acute week: (8/7) / (8/28) = 4
    assert m.acwr_rolling_coupled == approx(4.0)
    assert acwr_zone(m.acwr_rolling_coupled) == "danger"
    # the day before: acute 0, chronic 0 -> no base everywhere; monotony of a zero week too
    y = r.day("distance_km", day(69))
    assert y.acwr_rolling_coupled is None and y.acwr_rolling_coupled_reason == NO_BASE
    assert y.monotony is None and y.monotony_reason == NO_VARIATION
    # EWMA28 never drops to exactly zero after a load, but with no load in the 28-day window its
    # residue is no base either: the same answer as the rolling ratios, not "0.00, low"
    assert y.acwr_ewma is None and y.acwr_ewma_reason == NO_BASE
    assert y.ewma_chronic is not None and 0 < y.ewma_chronic  # the EWMA itself is still reported
    # day 70's run is in the window again: the EWMA ratio is back (a real, if small, base)
    assert m.acwr_ewma is not None and math.isfinite(m.acwr_ewma)


def test_a_vanishing_ewma_base_is_no_base_long_after_a_break():
    # 35 days of 6 km, then 150 days off: the EWMAs decay to residues (acute ~ 1e-19 of a run)
    runs = daily_runs([6] * 35)
    r = compute_load(runs, athlete(), until=day(185))
    m = r.day("distance_km", day(185))
    assert m.ewma_acute is not None and m.ewma_acute < 1e-15  # what used to give an ACWR of ~1e-19, zone "low"
    assert m.acwr_ewma is None and m.acwr_ewma_reason == NO_BASE
    assert m.acwr_rolling_coupled is None and m.acwr_rolling_coupled_reason == NO_BASE
    assert m.to_dict()["acwr_zone"]["ewma"] is None


def test_acwr_zone_boundaries():
    assert acwr_zone(None) is None
    assert acwr_zone(0.79) == "low"
    assert acwr_zone(0.8) == "sweet_spot"
    assert acwr_zone(1.3) == "sweet_spot"
    assert acwr_zone(1.31) == "caution"
    assert acwr_zone(1.4999) == "caution"
    assert acwr_zone(1.5) == "danger"
