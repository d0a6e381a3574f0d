"""The engine's shortcuts for the web pages on 10 years of history change no value: status computes with
a ``since`` window of recent days (its answer equals the whole-history one on every day of a long,
irregular history), and the charts ask for two channels and no run findings."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from loadmon.domain import ActivityRecord, ElevationSource, Sex
from loadmon.service import Service, load
from loadmon.storage import Store
from tests.conftest import make_config

START = date(2021, 1, 4)


def _history(days: int, seed: int = 7) -> list[ActivityRecord]:
    """Runs (some with heart rate or RPE, some hilly), rides, breaks of 40-90 days without running."""
    rng = random.Random(seed)
    records = []
    breaks = {rng.randrange(60, days - 120) for _ in range(4)}
    off_until = -1
    for i in range(days):
        if i in breaks:
            off_until = i + rng.randrange(40, 90)
        day = START + timedelta(days=i)
        if i > off_until and rng.random() < 0.6:
            km = rng.uniform(4, 14) * (2.2 if rng.random() < 0.05 else 1.0)
            secs = km * rng.uniform(290, 380)
            descent = rng.uniform(10, 400) if rng.random() < 0.9 else None
            records.append(
                ActivityRecord(
                    source="fit",
                    source_id=10_000 + i,
                    sport="running",
                    start_time=datetime.combine(day, time(6 + i % 12, 0), tzinfo=UTC),
                    distance_m=km * 1000.0,
                    moving_time_s=secs,
                    elapsed_time_s=secs + 60,
                    elevation_gain_m=descent,
                    elevation_loss_m=descent,
                    elevation_source=ElevationSource.DEVICE if descent is not None else ElevationSource.NONE,
                    steep_descent_m=descent / 4 if descent else None,
                    avg_hr=rng.randrange(120, 170) if rng.random() < 0.7 else None,
                    perceived_exertion=float(rng.randrange(2, 9)) if rng.random() < 0.5 else None,
                    content_hash=f"run-{i}",
                )
            )
        if rng.random() < 0.1:
            records.append(
                ActivityRecord(
                    source="fit",
                    source_id=50_000 + i,
                    sport="cycling",
                    start_time=datetime.combine(day, time(18, 0), tzinfo=UTC),
                    distance_m=30_000.0,
                    moving_time_s=3600.0,
                    elapsed_time_s=3700.0,
                    avg_hr=130,
                    content_hash=f"ride-{i}",
                )
            )
    return records


@pytest.mark.slow
def test_status_with_the_window_equals_status_over_the_whole_history(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    svc = Service(config=make_config(tmp_path, url), store=Store.open(url))
    try:
        athlete = svc.athlete()
        athlete = svc.store.update_athlete(athlete.id, hr_rest=50, hr_max=190, sex=Sex.FEMALE.value)  # TRIMP too
        total = 4 * 365
        svc.store.record_import(athlete.id, path="h.zip", content_hash="h", records=_history(total), outcome="imported")
        last = START + timedelta(days=total + 60)  # ends with 60 days without any activity
        days = [START - timedelta(days=1), START, START + timedelta(days=3), last]
        days += [START + timedelta(days=i) for i in range(20, total + 60, 23)]
        gaps = 0
        for day in days:
            windowed = load.status(svc, athlete, day=day)
            whole = load.status(svc, athlete, day=day, window_days=None)
            assert windowed == whole, day
            today_page = load.status(svc, athlete, day=day, channels=("distance_km", "descent_m"))  # as Today asks
            assert today_page == whole | {"channels": {k: whole["channels"][k] for k in ("distance_km", "descent_m")}}
            assert load.status_json(windowed) == load.status_json(whole), day
            if whole["last_run"] and date.fromisoformat(whole["last_run"]["local_date"]) < day - timedelta(days=29):
                gaps += 1
        assert gaps >= 5  # days whose last run is older than the window were checked too
        assert whole["channels"]["distance_km"]["fitness"] > 0 and whole["last_run"] is not None
    finally:
        svc.close()


def test_compute_load_leaves_out_channels_and_findings_without_changing_the_others() -> None:
    from loadmon.engine import CHANNELS, DESCENT, DISTANCE, compute_load
    from loadmon.engine.reasons import NOT_COMPUTED
    from tests.engine.engine_builders import activity, athlete

    rng = random.Random(3)
    runner = athlete(hr_rest=50, hr_max=190)
    acts = [
        activity(
            i,
            km=rng.uniform(3, 20),
            minutes=rng.uniform(20, 120),
            descent_m=rng.uniform(0, 300),
            avg_hr=rng.randrange(110, 170),
            rpe=rng.randrange(1, 9),
        )
        for i in range(0, 900)
        if rng.random() < 0.6
    ]
    until = acts[-1].local_date + timedelta(days=20)
    full = compute_load(acts, runner, until=until)
    lean = compute_load(acts, runner, until=until, channels=(DISTANCE, DESCENT), findings=False)
    assert lean.findings == () and len(full.findings) == len(acts)
    for name in CHANNELS:
        if name in (DISTANCE, DESCENT):
            assert dict(lean.channels[name].columns) == dict(full.channels[name].columns), name
            assert lean.channels[name].history_start == full.channels[name].history_start
        else:
            assert full.channels[name].available
            assert not lean.channels[name].available and lean.channels[name].reason == NOT_COMPUTED, name
    assert (lean.first_day, lean.last_day, lean.history_start) == (full.first_day, full.last_day, full.history_start)
