"""acwr: Gabbett zones at, just below and just above 1.3 and 1.5 (expectations worked by hand).

Rolling coupled ACWR with 21 days of x km and then 7 days of y km, on the 28th day (the first
day after warm-up): acute mean = y, chronic mean = (21x + 7y) / 28, so ACWR = 4y / (3x + y).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from alerts.rules import RuleThresholds, evaluate_rules
from loadmon.domain import AlertSeverity
from loadmon.engine import compute_load
from tests.alerts.conftest import ATHLETE, Runs

T = date(2026, 6, 14)


def acwr_alerts(runs: Runs, *, first=None, **thresholds):
    load = compute_load(runs.items, ATHLETE, until=T)
    return evaluate_rules(athlete=ATHLETE, load=load, activities=runs.items, rules=["acwr"],
                          thresholds=RuleThresholds(**thresholds), first_day=first or load.first_day, last_day=T)


def block(x: float, y: float) -> Runs:
    runs = Runs()
    runs.daily(T - timedelta(days=27), 21, x)
    runs.daily(T - timedelta(days=6), 7, y)
    return runs


@pytest.mark.parametrize(("y", "expected", "ratio"), [
    (6.4, None, None),                        # 25.6 / 19.9 = 1.286
    (6.5, AlertSeverity.WARNING, 1.3),        # 26 / 20 = 1.3 exactly: caution starts at 1.3
    (8.0, AlertSeverity.WARNING, 1.49),       # 32 / 21.5 = 1.488
    (8.1, AlertSeverity.DANGER, 1.5),         # 32.4 / 21.6 = 1.5 exactly: danger
])
def test_rolling_coupled_zones(y, expected, ratio) -> None:
    alerts = acwr_alerts(block(4.5, y), acwr_kind="rolling_coupled")
    if expected is None:
        assert alerts == []
        return
    (a,) = alerts
    assert a.local_date == T and a.severity == expected
    assert a.numbers["acwr"] == ratio and a.numbers["acwr_kind"] == "rolling_coupled"
    assert a.numbers["last_7d_km"] == round(7 * y, 1)
    assert a.title.startswith(f"More than you are used to: {7 * y:g} km in 7 days, your average week ")
    assert a.title.endswith(f"(ACWR {ratio:.2f})")
    assert a.dedupe_key == f"acwr:1:{T.isoformat()}:{expected.value}"


def test_low_volume_guard() -> None:
    # x = 1, y = 2.1: ACWR 8.4 / 5.1 = 1.65 but the last 7 days are 14.7 km (< 15)
    assert acwr_alerts(block(1.0, 2.1), acwr_kind="rolling_coupled") == []
    # y = 2.2: 15.4 km, ACWR 8.8 / 5.2 = 1.69
    (a,) = acwr_alerts(block(1.0, 2.2), acwr_kind="rolling_coupled")
    assert a.severity == AlertSeverity.DANGER and a.numbers["acwr"] == 1.69
    assert acwr_alerts(block(1.0, 2.1), acwr_kind="rolling_coupled", acwr_min_acute=0) != []


def test_ewma_by_hand() -> None:
    # 28 days of 5 km (EWMAs seeded with the warm-up mean 5: both stay 5, ratio 1.0), then y on day 29:
    # acute = 0.75 * 5 + 0.25 * y (lambda 2/8), chronic = (27 * 5 + 2 * y) / 29 (lambda 2/29).
    # y = 20: 8.75 / (175 / 29) = 1.45 (warning); y = 30: 11.25 / (195 / 29) = 1.673 (danger).
    for y, severity, value in ((20.0, AlertSeverity.WARNING, 1.45), (30.0, AlertSeverity.DANGER, 1.67)):
        runs = Runs()
        runs.daily(T - timedelta(days=28), 28, 5.0)
        runs.add(T, y)
        (a,) = acwr_alerts(runs)
        assert (a.local_date, a.severity, a.numbers["acwr"]) == (T, severity, value)
        assert a.numbers["acwr_kind"] == "ewma" and a.numbers["channel"] == "distance_km"
        assert f"workload ratio (EWMA, 7 vs 28 days) is {value:.2f}" in a.message
        assert "Impellizzeri" in a.evidence and "Hulin" in a.evidence and "Williams" in a.evidence


def test_ewma_message_shows_the_plain_sums_and_what_to_do() -> None:
    # 28 days of 5 km, then 20 km today: the plain sums are 50 km in 7 days and (27 * 5 + 20) / 4
    # = 38.75 km as the average week of the last 28 days; the EWMA-based weekly figures differ
    # (7-day EWMA 8.75 a day = 61.25 km a week) and the message says why.
    runs = Runs()
    runs.daily(T - timedelta(days=28), 28, 5.0)
    runs.add(T, 20.0)
    (a,) = acwr_alerts(runs)
    assert a.title == "More than you are used to: 50 km in 7 days, your average week 38.8 km (ACWR 1.45)"
    assert ("Your running distance in the last 7 days (to Sun 2026-06-14): 50.0 km; your average week of the last "
            "28 days: 38.8 km.") in a.message
    assert "weigh the most recent days most, so your 7-day EWMA reads 61.2 km a week" in a.message
    assert ("What to do: keep the next 7 days at or below about 50.4 km (1.30 times your average week of the last "
            "28 days") in a.message
    assert a.numbers["last_7d_km"] == 50.0 and a.numbers["usual_week_km"] == 38.8
    assert a.numbers["next_7d_target_km"] == 50.4 and a.numbers["acute_weekly_km"] == 61.2


def test_no_alert_while_warming_up() -> None:
    # 20 days of history with a huge last week: no ratio yet, no alert
    runs = Runs()
    runs.daily(T - timedelta(days=19), 13, 2.0)
    runs.daily(T - timedelta(days=6), 7, 12.0)
    assert acwr_alerts(runs) == []
    assert acwr_alerts(runs, acwr_kind="rolling_coupled") == []


def test_cooldown_and_rising_severity() -> None:
    # 28 days of 4 km, then 7 days of 12 km. EWMA by hand (acute a' = 0.75a + 3, chronic
    # c' = 27c/29 + 24/29): day 1 6.0/4.552 = 1.32 (warning), day 2 7.5/5.066 = 1.48 (warning,
    # cooldown), day 3 8.625/5.541 = 1.56 (danger: severity rose), days 4-7 >= 1.5 (cooldown).
    runs = Runs()
    runs.daily(T - timedelta(days=34), 28, 4.0)
    runs.daily(T - timedelta(days=6), 7, 12.0)
    alerts = acwr_alerts(runs)
    assert [(a.local_date, a.severity, a.numbers["acwr"]) for a in alerts] == [
        (T - timedelta(days=6), AlertSeverity.WARNING, 1.32), (T - timedelta(days=4), AlertSeverity.DANGER, 1.56)]
    uncapped = acwr_alerts(runs, cooldown_hours=0)
    assert len(uncapped) == 7  # the condition held on every day of the week; the cooldown silenced five
