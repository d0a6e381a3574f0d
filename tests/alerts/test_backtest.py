"""The personal back-test (alerts/backtest.py) on hand-built histories whose answers follow from how they
are built: 5 km every morning at 08:00 with 50 m of descent (a steady 35 km week: no ramp, no ACWR, no
descent spike), an 8 km run here and there (a run spike: +60% on the longest of the previous 30 days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from alerts.backtest import (
    COUNTED_RULES,
    MIN_EPISODES,
    NO_RUNS,
    NOT_COUNTED_RULES,
    WINDOW_DAYS,
    Backtest,
    BacktestInput,
    backtest,
)
from alerts.rules import RuleThresholds, evaluate_rules
from loadmon.engine import compute_load, spike_band_for
from tests.alerts.conftest import ATHLETE, Runs, symptom

START = date(2026, 1, 1)
DAYS = 150
END = START + timedelta(days=DAYS - 1)
EASY_KM, SPIKE_KM, DESCENT_M = 5.0, 8.0, 50.0
SPIKE_PCT = (SPIKE_KM / EASY_KM - 1.0) * 100.0


def history(spike_days: tuple[int, ...]) -> Runs:
    runs = Runs()
    for i in range(DAYS):
        runs.add(START + timedelta(days=i), SPIKE_KM if i in spike_days else EASY_KM, descent=DESCENT_M)
    return runs


def run_backtest(runs: Runs, symptoms=()) -> Backtest:
    load = compute_load(runs.items, ATHLETE, until=END)
    return backtest(BacktestInput(athlete=ATHLETE, activities=runs.items, symptoms=list(symptoms), load=load, thresholds=RuleThresholds()))


def knee(day: int, hour: int, *, severity: int = 4, days_open: int = 5, symptom_id: int = 1, site: str = "knee"):
    began = datetime.combine(START + timedelta(days=day), time(hour), tzinfo=UTC)
    return symptom(symptom_id, started=began, severity=severity, site=site, resolved=began + timedelta(days=days_open))


def rule(bt: Backtest, name: str):
    return next(r for r in bt.rules if r.rule == name)


def test_a_spike_five_days_before_an_episode_warned_of_it_and_a_lone_spike_had_nothing_following() -> None:
    runs = history(spike_days=(60, 100))
    bt = run_backtest(runs, [knee(65, 19)])
    spikes = [
        a
        for a in evaluate_rules(
            athlete=ATHLETE, load=compute_load(runs.items, ATHLETE, until=END), activities=runs.items, rules=["run_spike"]
        )
    ]
    assert [a.local_date for a in spikes] == [START + timedelta(days=60), START + timedelta(days=100)]
    r = rule(bt, "run_spike")
    assert (r.episodes_warned, r.episodes_total) == (1, 1)
    assert (r.alerts_total, r.alerts_followed, r.alerts_nothing_following, r.alerts_too_recent) == (2, 1, 1, 0)
    assert r.history_months == DAYS / (365.2425 / 12)
    assert r.nothing_following_per_month == 1 / r.history_months
    assert r.too_few_episodes and bt.too_few_episodes and len(bt.episodes) < MIN_EPISODES
    assert "too few" in bt.note and "Exploratory" in bt.note and bt.exploratory
    for name in ("weekly_ramp", "acwr", "descent_spike"):  # a steady week, a flat 50 m: they never fired
        assert (rule(bt, name).alerts_total, rule(bt, name).episodes_warned) == (0, 0)
    (e,) = bt.episodes
    assert e.warned_by == ("run_spike",)
    assert (e.began, e.site, e.side, e.peak_severity) == (START + timedelta(days=65), "knee", "right", 4)
    assert (e.window_first_day, e.window_last_day) == (e.began - timedelta(days=WINDOW_DAYS), e.began - timedelta(days=1))


def test_the_window_holds_the_14_days_before_and_the_runs_of_that_day_before_the_symptom() -> None:
    runs = history(spike_days=(60,))
    evening = run_backtest(runs, [knee(65, 19)]).episodes[0]  # that day's 08:00 run came before the symptom
    morning = run_backtest(runs, [knee(65, 7)]).episodes[0]  # ... after it
    assert evening.measure("runs").value == WINDOW_DAYS + 1 and morning.measure("runs").value == WINDOW_DAYS
    assert morning.measure("distance_km").value == (WINDOW_DAYS - 1) * EASY_KM + SPIKE_KM
    assert morning.measure("descent_m").value == WINDOW_DAYS * DESCENT_M
    spike = morning.measure("largest_spike_pct")
    assert spike.value is not None and abs(spike.value - SPIKE_PCT) < 1e-9 and spike.reason is None
    assert morning.spike_band == spike_band_for(SPIKE_KM / EASY_KM).label
    # the usual: the quiet windows are 14 easy mornings (their single-run increase: none, 0%)
    assert morning.measure("runs").usual == WINDOW_DAYS
    assert morning.measure("distance_km").usual == WINDOW_DAYS * EASY_KM
    assert morning.measure("largest_spike_pct").usual == 0.0
    assert morning.measure("largest_descent_ratio").usual == 1.0


def test_a_spike_in_the_last_14_days_is_too_recent_to_tell() -> None:
    bt = run_backtest(history(spike_days=(60, DAYS - 3)))
    r = rule(bt, "run_spike")
    assert (r.alerts_total, r.alerts_nothing_following, r.alerts_too_recent) == (2, 1, 1)


def test_the_rules_that_follow_symptoms_are_listed_apart_not_counted() -> None:
    # running on through an open knee episode: the comeback rules fire, after the symptom
    bt = run_backtest(history(spike_days=(60,)), [knee(65, 19, days_open=20)])
    assert tuple(r.rule for r in bt.rules) == COUNTED_RULES
    assert tuple(n.rule for n in bt.not_counted) == NOT_COUNTED_RULES
    assert {"hilly_after_symptoms", "comeback_spike", "pain_next_morning"} <= set(NOT_COUNTED_RULES)
    assert not set(NOT_COUNTED_RULES) & set(COUNTED_RULES)
    assert sum(n.alerts_total for n in bt.not_counted) > 0
    assert all("not counted" in n.why for n in bt.not_counted)
    assert set(bt.episodes[0].warned_by) <= set(COUNTED_RULES)


def test_without_symptoms_there_are_no_episodes_and_the_note_says_so() -> None:
    bt = run_backtest(history(spike_days=(60,)))
    assert bt.episodes == () and bt.too_few_episodes
    assert "No symptom episode" in bt.note
    r = rule(bt, "run_spike")
    assert (r.episodes_total, r.episodes_warned, r.alerts_total, r.alerts_nothing_following) == (0, 0, 1, 1)


def test_mild_and_non_lower_limb_symptoms_open_no_episode() -> None:
    bt = run_backtest(history(spike_days=()), [knee(65, 19, severity=2), knee(80, 19, site="lower_back", symptom_id=2)])
    assert bt.episodes == ()


def test_an_episode_before_any_run_has_reasons_not_numbers() -> None:
    runs = Runs()
    runs.daily(START + timedelta(days=30), 40, EASY_KM, descent=DESCENT_M)
    bt = run_backtest(runs, [knee(3, 9)])
    (e,) = bt.episodes
    assert e.measure("runs").value == 0
    for key in ("largest_spike_pct", "largest_descent_ratio", "ramp_pct", "acwr_ewma"):
        m = e.measure(key)
        assert (m.value, m.reason) == (None, NO_RUNS), key
    assert e.warned_by == ()
