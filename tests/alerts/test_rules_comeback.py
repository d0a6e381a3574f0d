"""The comeback rules, worked by hand at, just below and just above each threshold.

The athlete: UTC, easy 8 km runs with 20 m of descent every third day for 36 days (so the usual
rules are quiet), right knee pain (severity 4) logged on day T-5 at 19:00. Runs start at 08:00
and last 6 min/km.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import pytest

from alerts.rules import RuleThresholds, evaluate_rules
from alerts.rules.episodes import episodes
from loadmon.domain import AlertSeverity, SeverityUpdate, Symptom
from loadmon.engine import compute_load
from tests.alerts.conftest import ATHLETE, Runs, symptom

UTC = UTC
T = date(2026, 6, 14)
PAIN = datetime.combine(T - timedelta(days=5), time(19, 0), tzinfo=UTC)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=UTC)


def history(descent: float = 20.0) -> Runs:
    runs = Runs()
    for back in range(42, 5, -3):  # the last one on T-6, before the pain
        runs.add(T - timedelta(days=back), 8.0, descent=descent)
    return runs


def knee(*readings: tuple[datetime, int], severity: int = 4, resolved: datetime | None = None, site: str = "knee") -> Symptom:
    s = symptom(started=PAIN, severity=severity, resolved=resolved, site=site)
    ups = tuple(SeverityUpdate(id=i + 1, symptom_id=s.id, at=when, severity=sev) for i, (when, sev) in enumerate(readings))
    return dataclasses.replace(s, updates=ups)


def alerts(runs: Runs, symptoms, rule: str, *, first: date | None = None, **thresholds):
    load = compute_load(runs.items, ATHLETE, until=T)
    return evaluate_rules(
        athlete=ATHLETE,
        load=load,
        activities=runs.items,
        symptoms=symptoms,
        rules=[rule],
        thresholds=RuleThresholds(**thresholds),
        first_day=first or T - timedelta(days=5),
        last_day=T,
    )


# -- episodes -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "later", "opens_at"),
    [
        (2, (), None),  # never 3: no episode
        (3, (), PAIN),  # 3 when logged
        (2, ((at(T, 7), 3),), at(T, 7)),  # opens with the reading that reaches 3
    ],
)
def test_an_episode_opens_at_the_first_reading_of_3(first, later, opens_at) -> None:
    eps = episodes([knee(*later, severity=first)], RuleThresholds())
    assert [e.began_at for e in eps] == ([opens_at] if opens_at else [])


def test_a_back_or_other_site_opens_no_episode() -> None:
    assert episodes([knee(site="lower_back", severity=8), knee(site="other", severity=8)], RuleThresholds()) == []


# -- comeback_spike -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("km", "fires", "severity"),
    [
        (2.9, False, None),
        (3.0, False, None),  # exactly the 3 km start: not longer
        (3.1, True, AlertSeverity.WARNING),
        (6.0, True, AlertSeverity.WARNING),  # exactly twice the start
        (6.1, True, AlertSeverity.DANGER),
    ],
)
def test_comeback_spike_first_run_against_the_start(km, fires, severity) -> None:
    runs = history()
    runs.add(T, km, descent=0.0)
    got = alerts(runs, [knee()], "comeback_spike")
    assert [(a.activity_id, a.severity) for a in got] == ([(runs.items[-1].id, severity)] if fires else [])
    if fires:
        (a,) = got
        assert (a.numbers["base_km"], a.numbers["limit_km"], a.numbers["runs_since_episode"]) == (3.0, 3.0, 0)
        assert "3.0 km" in a.message and a.dedupe_key == f"comeback_spike:1:{runs.items[-1].id}"


@pytest.mark.parametrize(("km", "fires"), [(4.39, False), (4.4, False), (4.41, True)])
def test_comeback_spike_against_the_longest_tolerated_run(km, fires) -> None:
    runs = history()
    base = runs.add(T - timedelta(days=2), 4.0, descent=0.0)  # 4 km; the next morning's reading is no worse
    runs.add(T, km, descent=0.0)
    sym = knee((at(T - timedelta(days=1), 7), 4))
    got = [a for a in alerts(runs, [sym], "comeback_spike") if a.activity_id == runs.items[-1].id]
    assert len(got) == (1 if fires else 0)  # 4.0 x 1.10 = 4.4 km
    if fires:
        assert (got[0].numbers["base_km"], got[0].numbers["limit_km"], got[0].numbers["base_date"]) == (
            4.0,
            4.4,
            base.local_date.isoformat(),
        )


def test_a_run_that_raised_the_pain_is_not_a_base() -> None:
    runs = history()
    runs.add(T - timedelta(days=2), 4.0, descent=0.0)
    runs.add(T, 4.2, descent=0.0)
    tolerated = knee((at(T - timedelta(days=1), 7), 4))
    rose = knee((at(T - timedelta(days=1), 7), 5))  # 4 -> 5 the next morning
    assert alerts(runs, [tolerated], "comeback_spike", first=T) == []
    (a,) = alerts(runs, [rose], "comeback_spike", first=T)
    assert (a.numbers["base_km"], a.numbers["runs_not_tolerated"]) == (3.0, 1)


@pytest.mark.parametrize(("days_after", "fires"), [(27.9, True), (28.0, False)])
def test_comeback_spike_watches_28_days_after_the_resolve(days_after, fires) -> None:
    runs = history()
    runs.add(T, 9.0, descent=0.0)  # the history's 8 km runs after the pain are its base: 8.8 km
    resolved = at(T, 8) - timedelta(days=days_after)
    sym = dataclasses.replace(knee(), started_at=resolved - timedelta(days=3), resolved_at=resolved)
    assert len(alerts(runs, [sym], "comeback_spike", first=T)) == (1 if fires else 0)


def test_no_symptom_no_comeback_rule() -> None:
    runs = history()
    runs.add(T, 12.0, descent=300.0)
    for rule in ("comeback_spike", "comeback_hills", "pain_next_morning", "returned_early"):
        assert alerts(runs, [], rule) == []


# -- comeback_hills -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("km", "descent", "fires", "by"),
    [
        (6.0, 50.0, False, None),  # 50 m, 8.3 m/km: at the floor, not above
        (6.0, 51.0, True, "m"),  # above 50 m (8.5 m/km)
        (4.0, 40.0, False, None),  # exactly 10 m/km
        (4.0, 41.0, True, "m_per_km"),  # 10.25 m/km
    ],
)
def test_comeback_hills_floor(km, descent, fires, by) -> None:
    # runs of 60 m before: a run under 60 m is not above their 75th percentile (hilly_after_symptoms stays quiet)
    runs = history(descent=60.0)
    runs.add(T, km, descent=descent)
    got = alerts(runs, [knee()], "comeback_hills", first=T)
    assert len(got) == (1 if fires else 0)
    if fires:
        assert got[0].numbers["hilly_by"] == by and got[0].severity == AlertSeverity.WARNING
        assert "knee eccentrically" in got[0].message  # a knee site: why downhill matters


def test_comeback_hills_leaves_a_run_to_hilly_after_symptoms() -> None:
    runs = history()
    runs.add(T, 10.0, descent=200.0)  # 200 m and 20 m/km: hilly_after_symptoms alerts
    assert len(alerts(runs, [knee()], "hilly_after_symptoms", first=T)) == 1
    assert alerts(runs, [knee()], "comeback_hills", first=T) == []


def test_comeback_hills_for_a_calf_says_nothing_of_the_knee() -> None:
    runs = history(descent=80.0)
    runs.add(T, 6.0, descent=60.0)
    (a,) = alerts(runs, [knee(site="calf")], "comeback_hills", first=T)
    assert "knee" not in a.message


# -- pain_next_morning ------------------------------------------------------------------------------
@pytest.mark.parametrize(("after", "fires"), [(3, False), (4, False), (5, True)])
def test_pain_next_morning_compares_with_the_reading_before(after, fires) -> None:
    runs = history()
    run = runs.add(T - timedelta(days=1), 3.0, descent=0.0)
    sym = knee((at(T, 7), after))  # before the run: 4 (logged T-5)
    got = alerts(runs, [sym], "pain_next_morning")
    assert [(a.activity_id, a.local_date) for a in got] == ([(run.id, T)] if fires else [])
    if fires:
        assert (got[0].numbers["severity_before"], got[0].numbers["severity_after"]) == (4, 5)
        assert got[0].dedupe_key == f"pain_next_morning:1:{run.id}"


@pytest.mark.parametrize(("hours_after_end", "fires"), [(35.9, True), (36.0, True), (36.1, False)])
def test_pain_next_morning_window(hours_after_end, fires) -> None:
    runs = history()
    run = runs.add(T - timedelta(days=2), 3.0, descent=0.0)  # 08:00-08:18
    end = run.start_time + timedelta(seconds=run.elapsed_time_s or 0)
    sym = knee((end + timedelta(hours=hours_after_end), 6))
    assert len(alerts(runs, [sym], "pain_next_morning")) == (1 if fires else 0)


def test_pain_next_morning_belongs_to_the_last_run_before_the_check_in() -> None:
    runs = history()
    runs.add(T - timedelta(days=1), 3.0, descent=0.0, at=time(8, 0))
    evening = runs.add(T - timedelta(days=1), 3.0, descent=0.0, at=time(18, 0))
    (a,) = alerts(runs, [knee((at(T, 7), 6))], "pain_next_morning")
    assert a.activity_id == evening.id


def test_pain_next_morning_not_for_a_resolved_symptom() -> None:
    runs = history()
    runs.add(T - timedelta(days=1), 3.0, descent=0.0)
    sym = dataclasses.replace(knee((at(T - timedelta(days=2), 7), 5)), resolved_at=at(T - timedelta(days=1), 7))
    assert alerts(runs, [sym], "pain_next_morning") == []


# -- returned_early -------------------------------------------------------------------------------
@pytest.mark.parametrize(("high", "fires"), [(4, False), (5, True), (7, True)])
def test_returned_early_severity(high, fires) -> None:
    runs = history()
    runs.add(T, 3.0, descent=0.0)
    got = alerts(runs, [knee((at(T - timedelta(days=1), 7), high))], "returned_early", first=T)
    assert [a.severity for a in got] == ([AlertSeverity.DANGER] if fires else [])


@pytest.mark.parametrize(("hours_before", "fires"), [(71.9, True), (72.0, True), (72.1, False)])
def test_returned_early_window_of_3_days(hours_before, fires) -> None:
    runs = history()
    runs.add(T, 3.0, descent=0.0)
    got = alerts(runs, [knee((at(T, 8) - timedelta(hours=hours_before), 6))], "returned_early", first=T)
    assert len(got) == (1 if fires else 0)


@pytest.mark.parametrize(("clear", "fires"), [(2, False), (3, True)])
def test_returned_early_a_reading_of_2_or_less_clears_it(clear, fires) -> None:
    runs = history()
    runs.add(T, 3.0, descent=0.0)
    sym = knee((at(T - timedelta(days=2), 7), 6), (at(T, 7), clear))
    assert len(alerts(runs, [sym], "returned_early", first=T)) == (1 if fires else 0)


def test_returned_early_the_resolve_clears_it() -> None:
    runs = history()
    runs.add(T, 3.0, descent=0.0)
    sym = dataclasses.replace(knee((at(T - timedelta(days=2), 7), 6)), resolved_at=at(T, 7))
    assert alerts(runs, [sym], "returned_early", first=T) == []


def test_severity_at_reads_the_latest_reading() -> None:
    sym = knee((at(T, 7), 6), (at(T, 12), 2))
    assert [sym.severity_at(w) for w in (PAIN - timedelta(minutes=1), PAIN, at(T, 6), at(T, 7), at(T, 13))] == [None, 4, 4, 6, 2]
    assert sym.current_severity == 2


def test_hilly_after_symptoms_uses_the_severity_at_the_run() -> None:
    runs = history()
    runs.add(T, 10.0, descent=200.0)
    (a,) = alerts(runs, [knee((at(T, 7), 6))], "hilly_after_symptoms", first=T)
    assert (a.severity, a.numbers["symptom_severity"]) == (AlertSeverity.DANGER, 6)  # 6 >= 5 at the run
    assert alerts(runs, [knee((at(T, 7), 2))], "hilly_after_symptoms", first=T) == []  # 2 < 3 by then
