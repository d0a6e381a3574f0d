"""hilly_after_symptoms: hilly runs after an unresolved lower-limb symptom, at each threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from alerts.rules import RuleThresholds, evaluate_rules
from loadmon.domain import AlertSeverity
from loadmon.engine import compute_load
from tests.alerts.conftest import ATHLETE, Runs, symptom

UTC = UTC
T = date(2026, 6, 14)
RUN_START = datetime.combine(T, time(8, 0), tzinfo=UTC)  # runs start at 08:00 UTC
KNEE_PAIN = datetime(2026, 6, 12, 19, 0, tzinfo=UTC)     # two days before t


def history(descent: float, *, days: int = 36) -> Runs:
    runs = Runs()
    for back in range(days, 0, -3):
        runs.add(T - timedelta(days=back), 10.0, descent=descent)
    return runs


def hilly(runs: Runs, symptoms, **thresholds):
    load = compute_load(runs.items, ATHLETE, until=T)
    return evaluate_rules(athlete=ATHLETE, load=load, activities=runs.items, symptoms=symptoms,
                          rules=["hilly_after_symptoms"], thresholds=RuleThresholds(**thresholds),
                          first_day=T, last_day=T)


@pytest.mark.parametrize(("km", "descent", "alerts"), [
    (10.0, 199.0, 0),    # below 200 m
    (10.0, 200.0, 1),    # 200 m, 20 m/km
    (13.4, 200.0, 0),    # 14.9 m/km: below 15 m/km
    (20.0, 300.0, 1),    # exactly 15 m/km
])
def test_hilly_by_floor(km, descent, alerts) -> None:
    runs = history(400.0)  # the 30-day 75th percentile (400 m) is out of reach: only the floor counts
    runs.add(T, km, descent=descent)
    found = hilly(runs, [symptom(started=KNEE_PAIN)])
    assert len(found) == alerts
    if alerts:
        (a,) = found
        assert a.numbers["hilly_by"] == "floor" and a.numbers["descent_m"] == descent


@pytest.mark.parametrize(("history_descent", "descent", "alerts"), [
    (100.0, 100.0, 0),   # at the 75th percentile: not above it
    (100.0, 101.0, 1),   # above it (and far below the 200 m floor)
    (20.0, 49.0, 0),     # above a flat runner's percentile, but below hilly_descent_min_m (50)
    (20.0, 50.0, 1),
])
def test_hilly_by_own_percentile(history_descent, descent, alerts) -> None:
    runs = history(history_descent)
    runs.add(T, 10.0, descent=descent)
    found = hilly(runs, [symptom(started=KNEE_PAIN)])
    assert len(found) == alerts
    if alerts:
        assert found[0].numbers["hilly_by"] == "p75"
        assert found[0].numbers["p75_prev_30d_m"] == history_descent


@pytest.mark.parametrize(("severity", "expected"), [
    (2, None), (3, AlertSeverity.WARNING), (4, AlertSeverity.WARNING), (5, AlertSeverity.DANGER), (9, AlertSeverity.DANGER),
])
def test_severity_follows_the_symptom(severity, expected) -> None:
    runs = history(50.0)
    runs.add(T, 10.0, descent=250.0)
    found = hilly(runs, [symptom(started=KNEE_PAIN, severity=severity)])
    assert [a.severity for a in found] == ([] if expected is None else [expected])


def test_which_symptoms_count() -> None:
    runs = history(50.0)
    new = runs.add(T, 10.0, descent=250.0)
    assert hilly(runs, []) == []
    assert hilly(runs, [symptom(started=KNEE_PAIN, site="lower_back")]) == []          # not a lower-limb site
    assert hilly(runs, [symptom(started=KNEE_PAIN, site="other")]) == []
    assert len(hilly(runs, [symptom(started=KNEE_PAIN, site="it_band")])) == 1
    assert len(hilly(runs, [symptom(started=KNEE_PAIN, site="achilles", side="left")])) == 1
    # resolved before the run started: no; resolved after it started: yes
    assert hilly(runs, [symptom(started=KNEE_PAIN, resolved=RUN_START - timedelta(minutes=1))]) == []
    assert len(hilly(runs, [symptom(started=KNEE_PAIN, resolved=RUN_START + timedelta(minutes=1))])) == 1
    # logged after the run started: the run came first
    assert hilly(runs, [symptom(started=RUN_START + timedelta(minutes=1))]) == []
    # window: 14 days after the symptom's start, inclusive
    assert len(hilly(runs, [symptom(started=RUN_START - timedelta(days=14))])) == 1
    assert hilly(runs, [symptom(started=RUN_START - timedelta(days=14, minutes=1))]) == []
    # another athlete's symptom never counts
    assert hilly(runs, [symptom(started=KNEE_PAIN, athlete_id=2)]) == []
    (a,) = hilly(runs, [symptom(started=KNEE_PAIN)])
    assert a.activity_id == new.id and a.dedupe_key == f"hilly_after_symptoms:1:{new.id}"


def test_worst_active_symptom_sets_severity_and_message() -> None:
    runs = history(50.0)
    runs.add(T, 10.0, descent=440.0, name="Hill repeats")
    mild = symptom(1, started=KNEE_PAIN - timedelta(days=1), site="calf", side="left", severity=3, location=None)
    knee = symptom(2, started=KNEE_PAIN, severity=5)
    (a,) = hilly(runs, [mild, knee])
    assert a.severity == AlertSeverity.DANGER
    assert a.title == "Hilly run 2 days after right knee pain: 440 m of descent"
    assert "What to do: keep your runs flat (under 50 m of descent) until the right knee pain has settled" in a.message
    assert ('Hilly run on Sun 2026-06-14 ("Hill repeats"), 2 days after you logged right knee pain '
            "(lateral, severity 5/10, logged Fri 2026-06-12, not resolved): 10.0 km with 440 m of descent, 44 m/km") in a.message
    assert a.numbers["symptom_id"] == 2 and a.numbers["active_symptoms"] == 2 and a.numbers["days_after_symptom"] == 2
    assert a.evidence.startswith("Plausible, not proven") and "No prospective study" in a.evidence


def test_the_message_names_the_steep_part_of_the_descent_when_it_was_measured() -> None:
    from dataclasses import replace

    for steep, expected in ((310.0, "440 m of descent, 44 m/km, 310 m of it at -8 % or steeper - "),
                            (0.0, "440 m of descent, 44 m/km - "), (None, "440 m of descent, 44 m/km - ")):
        runs = history(50.0)
        today = runs.add(T, 10.0, descent=440.0)
        runs.items[-1] = replace(today, steep_descent_m=steep)
        (a,) = hilly(runs, [symptom(started=KNEE_PAIN)])
        assert expected in a.message, a.message
        assert a.numbers["steep_descent_m"] == steep


def test_percentile_path_waits_for_30_days_of_runs() -> None:
    runs = history(20.0, days=20)   # 20 days of runs: no 75th percentile yet
    runs.add(T, 10.0, descent=150.0)
    assert hilly(runs, [symptom(started=KNEE_PAIN)]) == []
    runs = history(20.0, days=20)
    runs.add(T, 10.0, descent=200.0)  # the floor works from the first run
    assert len(hilly(runs, [symptom(started=KNEE_PAIN)])) == 1
