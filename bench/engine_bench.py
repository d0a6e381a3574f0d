"""Benchmark: compute_load for one athlete with 10 years of history (~2,500 runs).

Target (issue): recomputing every metric for such an athlete takes < 50 ms.

    .venv/bin/python bench/engine_bench.py [--years 10] [--runs 2500] [--repeat 15]

Prints the best and median wall time of ``compute_load`` over the whole history (every
metric of all five channels for every day, and a finding per run: the synthetic athlete has
hr_rest/hr_max, most sessions have avg HR and some RPE), of the typical status/alert call
(``since`` = the last 60 days: the recurrences still run over the whole history, the
per-day columns only over the reported days), and of materialising every DayMetrics object
afterwards (compute_load fills the columns; DayMetrics objects are built on demand).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadmon.domain import Activity, Athlete, ElevationSource, Sex
from loadmon.engine import compute_load


def synthetic_history(*, years: int, runs: int, seed: int = 42) -> tuple[Athlete, list[Activity]]:
    rng = random.Random(seed)
    athlete = Athlete(id=1, name="bench", timezone="Europe/London", hr_rest=50, hr_max=190, sex=Sex.FEMALE)
    start = date(2015, 1, 1)
    days = years * 365
    activities: list[Activity] = []
    run_days = sorted(rng.sample(range(days), min(runs, days)))
    others = sorted(rng.sample(range(days), days // 8))  # rides and walks on top
    next_id = 1
    for sport, chosen in (("running", run_days), ("cycling", others)):
        for offset in chosen:
            day = start + timedelta(days=offset)
            t = datetime(day.year, day.month, day.day, 6 + rng.randrange(14), rng.randrange(60), tzinfo=UTC)
            km = max(2.0, rng.gauss(10 if sport == "running" else 35, 4 if sport == "running" else 12))
            moving = km * (330 if sport == "running" else 130) * rng.uniform(0.85, 1.15)
            descent = max(0.0, rng.gauss(km * 12, km * 6)) if rng.random() > 0.03 else None
            activities.append(Activity(
                id=next_id, athlete_id=1, source="fit", source_id=next_id, sport=sport, sub_sport=None,
                start_time=t, local_date=day, distance_m=km * 1000.0, moving_time_s=moving,
                elapsed_time_s=moving * 1.05, elevation_gain_m=descent, elevation_loss_m=descent,
                elevation_source=ElevationSource.DEVICE, avg_hr=rng.randrange(120, 175) if rng.random() > 0.1 else None,
                max_hr=None, perceived_exertion=float(rng.randrange(2, 9)) if rng.random() > 0.6 else None,
                device=None, duplicate_of=None,
            ))
            next_id += 1
    rng.shuffle(activities)
    return athlete, activities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    athlete, activities = synthetic_history(years=args.years, runs=args.runs)
    n_runs = sum(a.sport == "running" for a in activities)
    compute_load(activities, athlete)  # warm-up (imports, caches)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = compute_load(activities, athlete)
        times.append((time.perf_counter() - t0) * 1000.0)
    last = max(a.local_date for a in activities)
    recent = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        compute_load(activities, athlete, since=last - timedelta(days=60))
        recent.append((time.perf_counter() - t0) * 1000.0)
    mat = []
    for _ in range(max(3, args.repeat // 3)):
        result = compute_load(activities, athlete)
        t0 = time.perf_counter()
        for series in result.channels.values():
            series.days  # noqa: B018 - builds every DayMetrics
        mat.append((time.perf_counter() - t0) * 1000.0)
    days = len(result.dates)
    channels = len(result.available_channels)
    print(f"history: {args.years} years, {days} days, {len(activities)} activities ({n_runs} runs), "
          f"{channels} channels, {len(result.findings)} run findings")
    print(f"compute_load: best {min(times):.1f} ms, median {statistics.median(times):.1f} ms "
          f"over {args.repeat} runs (target < 50 ms)")
    print(f"compute_load(since=last 60 days), the status/alert call: best {min(recent):.1f} ms, "
          f"median {statistics.median(recent):.1f} ms")
    print(f"materialising all {days * channels} DayMetrics objects afterwards: best {min(mat):.1f} ms, "
          f"median {statistics.median(mat):.1f} ms")


if __name__ == "__main__":
    main()
