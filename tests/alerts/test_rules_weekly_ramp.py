"""weekly_ramp: at, just below and just above each threshold (expectations worked by hand).

Most cases use one run per week on the same weekday, so on the evaluated day t the last 7 days
hold exactly one run (day t) and the 7 days before exactly one (day t-7).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from alerts.rules import RuleThresholds, evaluate_rules
from loadmon.domain import AlertSeverity
from loadmon.engine import compute_load
from tests.alerts.conftest import ATHLETE, Runs

T = date(2026, 6, 14)  # a Sunday


def ramp_alerts(runs: Runs, *, first=T, last=T, live_from=None, **thresholds):
    load = compute_load(runs.items, ATHLETE, until=last)
    return evaluate_rules(athlete=ATHLETE, load=load, activities=runs.items, rules=["weekly_ramp"],
                          thresholds=RuleThresholds(**thresholds), first_day=first, last_day=last, live_from=live_from)


def weekly(previous_weeks: list[float], last_km: float) -> Runs:
    """One run a week: ``previous_weeks`` on t-7k (oldest first), then ``last_km`` on t."""
    runs = Runs()
    n = len(previous_weeks)
    for k, km in enumerate(previous_weeks):
        if km:
            runs.add(T - timedelta(days=7 * (n - k)), km)
    runs.add(T, last_km)
    return runs


@pytest.mark.parametrize(("last_km", "expected"), [
    (33.0, None),                      # exactly +10%: not "more than 10%"
    (33.1, AlertSeverity.WARNING),     # +10.3%
    (39.0, AlertSeverity.WARNING),     # exactly +30%: still warning
    (39.1, AlertSeverity.DANGER),      # +30.3%
])
def test_week_to_week_thresholds(last_km, expected) -> None:
    alerts = ramp_alerts(weekly([30, 30, 30, 30, 30], last_km))
    if expected is None:
        assert alerts == []
        return
    (a,) = alerts
    assert a.severity == expected
    assert a.numbers["last_7d_km"] == last_km and a.numbers["previous_7d_km"] == 30.0
    assert a.numbers["ramp_pct"] == round((last_km / 30 - 1) * 100, 1)
    assert a.numbers["mode"] == "week_to_week"
    assert a.dedupe_key == f"weekly_ramp:1:{T.isoformat()}:{expected.value}"
    assert a.activity_id is None and a.local_date == T


def test_message_carries_the_numbers() -> None:
    (a,) = ramp_alerts(weekly([30.8] * 5, 38.2))
    assert a.title == "Your week jumped 24%: 38.2 km after 30.8 km"
    assert "Your last 7 days (to Sun 2026-06-14): 38.2 km, 24% more than the 7 days before (30.8 km)" in a.message
    assert "an increase of 7.4 km" in a.message
    assert a.evidence.startswith("Weak.") and "Buist" in a.evidence and "Nielsen" in a.evidence
    assert "10%" in a.rule_text and "15.0 km" in a.rule_text


def test_the_message_says_what_to_do_from_the_numbers() -> None:
    # 4 usual weeks of 28 km, then 61 km: the next step is 10% above the usual week, not "check your legs"
    (a,) = ramp_alerts(weekly([28.0] * 5, 61.0))
    assert a.title == "Your week jumped 118%: 61 km after 28 km"
    assert ("What to do: keep the next 7 days near 30.8 km. Your usual week before this jump was 28 km (the weekly "
            "average of the 4 weeks before the last 7 days), and 10% more than that is the classic limit; then add "
            "at most 10% a week.") in a.message
    assert "legs feel" not in a.message
    assert a.numbers["usual_weekly_km"] == 28.0 and a.numbers["next_7d_target_km"] == 30.8
    # the usual week is the 4 weeks' average, not just the week before: 40, 40, 40, 20 then 30 (+50% on 20)
    (b,) = ramp_alerts(weekly([40.0, 40.0, 40.0, 40.0, 20.0], 30.0))
    assert b.numbers["usual_weekly_km"] == 35.0 and b.numbers["next_7d_target_km"] == 30.0
    assert "keep the next 7 days no higher than this week's 30 km: that is already back at your usual week (35 km" in b.message


@pytest.mark.parametrize(("previous", "last_km", "alerts_expected"), [
    (5.0, 6.0, 0),      # 5 km -> 6 km is +20% but far below the 15 km floor
    (10.0, 14.9, 0),    # +49% below the floor
    (10.0, 15.0, 1),    # +50% at the floor: danger
    (20.0, 22.9, 0),    # +14.5% but only 2.9 km more (minimum increase 3 km)
    (20.0, 23.0, 1),    # +15%, 3.0 km more
])
def test_minimum_volume_and_increase(previous, last_km, alerts_expected) -> None:
    assert len(ramp_alerts(weekly([previous] * 5, last_km))) == alerts_expected


def test_no_alert_while_warming_up() -> None:
    # history starts 21 days before t: the ramp needs 28 days (engine ramp_warmup_days)
    assert ramp_alerts(weekly([30, 30, 30], 60)) == []
    assert len(ramp_alerts(weekly([30, 30, 30, 30], 60))) == 1  # 28 days before t


def test_after_a_break_compares_with_the_usual_week_before_it() -> None:
    # 30 km a week, then a week off (t-13..t-7 = 0 km), then t
    for last_km, expected in ((33.0, None), (33.1, AlertSeverity.WARNING), (39.1, AlertSeverity.DANGER)):
        alerts = ramp_alerts(weekly([30, 30, 30, 30, 30, 0], last_km))
        if expected is None:
            assert alerts == [], last_km
            continue
        (a,) = alerts
        assert a.severity == expected
        assert a.numbers["mode"] == "after_break_vs_base"
        assert a.numbers["previous_7d_km"] == 0.0 and a.numbers["base_weekly_km"] == 30.0
        assert a.numbers["break_weeks"] == 1
        assert "after a break" in a.message and "usual week before the break (30.0 km" in a.message
        assert f"Back above your usual week: {last_km:g} km" in a.title
        assert "What to do: keep the next 7 days near 30 km, your usual week before the break" in a.message


def test_returning_to_the_usual_volume_after_a_break_is_quiet() -> None:
    assert ramp_alerts(weekly([30, 30, 30, 30, 30, 0, 0], 30.0)) == []   # two weeks off, back at 30


def test_near_zero_week_counts_as_a_break() -> None:
    # 4 km the week before is below weekly_ramp_break_km (5): compared with the 30 km base, 30 km is no ramp
    assert ramp_alerts(weekly([30, 30, 30, 30, 30, 4], 30.0)) == []
    # ... while with break_km = 3 the same week is week-to-week: +650%
    (a,) = ramp_alerts(weekly([30, 30, 30, 30, 30, 4], 30.0), weekly_ramp_break_km=3.0)
    assert a.numbers["mode"] == "week_to_week" and a.severity == AlertSeverity.DANGER


def test_after_a_long_break_only_the_absolute_limit_applies() -> None:
    # 30 km weeks, then 5 weeks off (longer than the 4-week base limit): no usual week is assumed
    history = [30, 30, 30, 30, 0, 0, 0, 0, 0]
    assert ramp_alerts(weekly(history, 25.0)) == []              # at weekly_ramp_after_break_km: not above
    (a,) = ramp_alerts(weekly(history, 25.1))
    assert a.severity == AlertSeverity.WARNING
    assert a.numbers["mode"] == "after_break_no_base" and a.numbers["ramp_pct"] is None
    assert a.numbers["break_weeks"] == 5
    assert "Big first week back: 25.1 km after a break" == a.title
    assert "What to do: keep the next 7 days near 25 km (no usual week from before the break is known" in a.message


def test_cooldown_one_alert_per_week_unless_severity_rises() -> None:
    # 4 weeks of 4 km a day (28 km/week), then 6 km a day for 7 days ending on t.
    # Ramp on t-6..t: 30, 32, 34, 36, 38, 40, 42 km vs 28 -> +7.1% (no), +14.3% warning (raised),
    # +21.4%, +28.6% (warning, in cooldown), +35.7% danger (raised: severity rose), +42.9%, +50% (cooldown).
    runs = Runs()
    runs.daily(T - timedelta(days=34), 28, 4.0)
    runs.daily(T - timedelta(days=6), 7, 6.0)
    alerts = ramp_alerts(runs, first=T - timedelta(days=6))
    assert [(a.local_date, a.severity) for a in alerts] == [
        (T - timedelta(days=5), AlertSeverity.WARNING), (T - timedelta(days=2), AlertSeverity.DANGER)]
    assert [a.numbers["ramp_pct"] for a in alerts] == [14.3, 35.7]
    # without a cooldown every day from t-5 alerts
    assert len(ramp_alerts(runs, first=T - timedelta(days=6), cooldown_hours=0)) == 6
    # the result for a day does not depend on the range asked for: evaluating t alone gives nothing
    assert ramp_alerts(runs, first=T, last=T) == []
    day_by_day = [a for i in range(6, -1, -1) for a in ramp_alerts(runs, first=T - timedelta(days=i), last=T - timedelta(days=i))]
    assert [a.dedupe_key for a in day_by_day] == [a.dedupe_key for a in alerts]


def test_a_ramp_that_began_before_the_notify_window_gets_one_catch_up_on_a_live_day() -> None:
    # 4 weeks of 4 km a day (28 km/week), then 5 km a day from t-6: the ramp passes +10% on t-4 (31 km, +10.7%)
    # and grows to +25% on t (35 km), all warnings.
    runs = Runs()
    runs.daily(T - timedelta(days=34), 28, 4.0)
    runs.daily(T - timedelta(days=6), 7, 5.0)
    first = T - timedelta(days=34)
    (history_only,) = ramp_alerts(runs, first=first)
    assert history_only.local_date == T - timedelta(days=4) and "catch_up_after" not in history_only.numbers

    # evaluated on t with a 48 h notify window: t-4 is history (recorded, not sent), t-2 is the first live day
    live = T - timedelta(days=2)
    alerts = ramp_alerts(runs, first=first, live_from=live)
    assert [a.local_date for a in alerts] == [T - timedelta(days=4), live]  # t-1 and t: the catch-up's cooldown
    old, catch_up = alerts
    assert old == history_only  # history does not change
    assert catch_up.numbers["catch_up_after"] == (T - timedelta(days=4)).isoformat()
    assert catch_up.numbers["ramp_pct"] == round((33 / 28 - 1) * 100, 1)
    assert "already held on Wed 2026-06-10, before the notify window" in catch_up.message
    assert catch_up.dedupe_key == f"weekly_ramp:1:{live.isoformat()}:warning"

    # when the first alert is itself live there is nothing to catch up
    assert ramp_alerts(runs, first=first, live_from=T - timedelta(days=4)) == [history_only]
    # and a catch-up is only ever raised inside the days asked for
    assert ramp_alerts(runs, first=T - timedelta(days=1), last=T, live_from=live) == []
