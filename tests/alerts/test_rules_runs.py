"""run_spike and descent_spike: per-run rules at, just below and just above each threshold.

History: a run every 3 days for 36 days before t (more than the 30 days of run history the
engine needs), each 10 km with 200 m of descent unless a test says otherwise.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from alerts.rules import RuleThresholds, evaluate_rules
from loadmon.domain import AlertSeverity
from loadmon.engine import compute_load
from tests.alerts.conftest import ATHLETE, Runs

T = date(2026, 6, 14)


def history(km: float = 10.0, descent: float | None = 200.0, *, days: int = 36) -> Runs:
    runs = Runs()
    for back in range(days, 0, -3):
        runs.add(T - timedelta(days=back), km, descent=descent)
    return runs


def rule_alerts(runs: Runs, rule: str, **thresholds):
    load = compute_load(runs.items, ATHLETE, until=T)
    return evaluate_rules(athlete=ATHLETE, load=load, activities=runs.items, rules=[rule],
                          thresholds=RuleThresholds(**thresholds), first_day=T, last_day=T)


# ------------------------------------------------------------------------------ run_spike
@pytest.mark.parametrize(("km", "severity", "band", "hrr"), [
    (11.0, None, None, None),                           # exactly +10%: the reference band
    (11.1, AlertSeverity.WARNING, ">10-30%", 1.64),
    (13.0, AlertSeverity.WARNING, ">10-30%", 1.64),     # exactly +30% is still the >10-30% band
    (13.1, AlertSeverity.WARNING, ">30-100%", 1.52),
    (20.0, AlertSeverity.WARNING, ">30-100%", 1.52),    # exactly double
    (20.1, AlertSeverity.DANGER, ">100%", 2.28),
])
def test_run_spike_bands(km, severity, band, hrr) -> None:
    runs = history()
    new = runs.add(T, km)
    alerts = rule_alerts(runs, "run_spike")
    if severity is None:
        assert alerts == []
        return
    (a,) = alerts
    assert (a.severity, a.activity_id, a.local_date) == (severity, new.id, T)
    assert a.numbers["band"] == band and a.numbers["hazard_rate_ratio"] == hrr
    assert a.numbers["distance_km"] == km and a.numbers["longest_prev_30d_km"] == 10.0
    assert a.numbers["increase_pct"] == round((km / 10 - 1) * 100, 1)
    assert a.dedupe_key == f"run_spike:1:{new.id}"
    assert "Frandsen" in a.evidence and "1.64" in a.evidence


def test_run_spike_message_names_the_reference_run() -> None:
    runs = history()
    runs.add(T - timedelta(days=5), 12.0)  # the longest of the window, on Tue 2026-06-09
    runs.add(T, 18.0, name="Long Sunday")
    (a,) = rule_alerts(runs, "run_spike")
    assert a.title == "Your run of 18 km was 50% longer than your longest in 30 days (12 km)"
    assert ("What to do: an easy day or rest tomorrow, and keep your next long runs near 13.2 km (10% over your "
            "previous longest)") in a.message
    assert a.numbers["next_long_run_km"] == 13.2
    assert ('Your run on Sun 2026-06-14 ("Long Sunday"): 18.0 km, 50% longer than your longest run of the '
            "previous 30 days (12.0 km on Tue 2026-06-09)") in a.message
    assert "1.52 times the injury rate" in a.message and "95% CI 1.16-2.00" in a.message
    assert a.numbers["longest_prev_30d_date"] == "2026-06-09"


def test_run_spike_minimum_distance() -> None:
    runs = history(km=4.0)
    runs.add(T, 4.9)  # +22.5% but shorter than run_spike_min_km (5)
    assert rule_alerts(runs, "run_spike") == []
    runs = history(km=4.0)
    runs.add(T, 5.0)  # +25%
    assert len(rule_alerts(runs, "run_spike")) == 1


def test_run_spike_needs_30_days_of_run_history() -> None:
    runs = history(days=27)  # first run 27 days before t
    runs.add(T, 25.0)
    assert rule_alerts(runs, "run_spike") == []


def test_run_spike_after_30_days_without_runs_is_no_base() -> None:
    runs = Runs()
    runs.daily(T - timedelta(days=70), 10, 10.0)
    runs.add(T, 25.0)
    assert rule_alerts(runs, "run_spike") == []


# -------------------------------------------------------------------------- descent_spike
@pytest.mark.parametrize(("descent", "severity"), [
    (250.0, None),                        # exactly +25%
    (251.0, AlertSeverity.WARNING),       # +25.5%
    (400.0, AlertSeverity.WARNING),       # exactly double
    (401.0, AlertSeverity.DANGER),        # more than double
])
def test_descent_spike_thresholds(descent, severity) -> None:
    runs = history(descent=200.0)
    new = runs.add(T, 10.0, descent=descent)
    alerts = rule_alerts(runs, "descent_spike")
    if severity is None:
        assert alerts == []
        return
    (a,) = alerts
    assert (a.severity, a.activity_id) == (severity, new.id)
    assert a.numbers["descent_m"] == descent and a.numbers["largest_prev_30d_m"] == 200.0
    assert a.numbers["increase_pct"] == round((descent / 200 - 1) * 100, 1)
    assert a.dedupe_key == f"descent_spike:1:{new.id}"


def test_descent_spike_message_and_evidence() -> None:
    runs = history(descent=200.0)
    runs.add(T, 12.0, descent=480.0)
    (a,) = rule_alerts(runs, "descent_spike")
    assert a.title == "Your run descended 480 m, 140% more than any run in 30 days (200 m)"
    assert "then keep each run's descent near 250 m (25% over your previous largest)" in a.message
    assert "480 m of descent (40 m/km over 12.0 km), 140% more than the largest descent" in a.message
    assert "(200 m)" in a.message
    assert a.evidence.startswith("Plausible, not proven") and "Bontemps" in a.evidence


def test_descent_spike_floor() -> None:
    runs = history(descent=80.0)
    runs.add(T, 10.0, descent=149.0)  # +86% but below the 150 m floor
    assert rule_alerts(runs, "descent_spike") == []
    runs = history(descent=80.0)
    runs.add(T, 10.0, descent=150.0)  # at the floor, +87.5%
    (a,) = rule_alerts(runs, "descent_spike")
    assert a.severity == AlertSeverity.WARNING


def test_descent_spike_after_flat_month() -> None:
    runs = history(descent=0.0)
    runs.add(T, 10.0, descent=300.0)
    (a,) = rule_alerts(runs, "descent_spike")
    assert a.severity == AlertSeverity.DANGER and a.numbers["largest_prev_30d_m"] == 0.0
    assert a.numbers["increase_pct"] is None and "0 m" in a.message
    assert a.title == "First hilly run in 30 days: 300 m of descent (the most before: 0 m)"


def test_a_descent_spike_from_a_flat_month_speaks_of_the_floor_not_a_huge_percentage() -> None:
    # 233 m after at most 3 m is +7667%: the message leads with "first hilly run in 30 days"
    runs = history(descent=3.0)
    runs.add(T, 12.0, descent=233.0)
    (a,) = rule_alerts(runs, "descent_spike")
    assert a.severity == AlertSeverity.DANGER
    assert a.title == "First hilly run in 30 days: 233 m of descent (the most before: 3 m)"
    assert ("233 m of descent (19 m/km over 12.0 km), your first hilly run in 30 days: none of your runs in the "
            "previous 30 days descended 150 m or more (the most was 3 m)") in a.message
    assert "%" not in a.title and "7666" not in a.message and "7667" not in a.message
    assert a.numbers["increase_pct"] == 7666.7  # the percentage stays in the numbers (JSON)
    assert "keep it no bigger than this one (233 m of descent) for the next 2 weeks" in a.message


def test_descent_spike_needs_elevation_data() -> None:
    runs = history(descent=None)  # no elevation on earlier runs: nothing to compare with
    runs.add(T, 10.0, descent=600.0)
    assert rule_alerts(runs, "descent_spike") == []
    runs = history(descent=200.0)
    runs.add(T, 30.0, descent=None)  # this run has no elevation data
    assert rule_alerts(runs, "descent_spike") == []
