"""Benchmark: the web app's Today page and /api/status for an athlete with 10 years of history.

Targets (issue 13): Today under 50 ms server time (median), page weight under 150 KB with all
its assets. The history is the engine benchmark's synthetic one (bench/engine_bench.py), stored
in a fresh SQLite database; the requests go through the ASGI app in process (Starlette's test
client), so the time is the server's, without a network.

    .venv/bin/python bench/web_today.py [--years 10] [--runs 2500] [--repeat 15]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import synthetic_history

from loadmon.config import load_config
from loadmon.domain import ActivityRecord
from loadmon.service import Service
from loadmon.service import users as user_service


def _records(activities) -> list[ActivityRecord]:
    names = {f.name for f in fields(ActivityRecord)}
    return [ActivityRecord(**{k: getattr(a, k) for k in names if hasattr(a, k) and k != "extra"},
                           content_hash=f"bench-{a.source_id}") for a in activities]


@dataclass(frozen=True)
class Timing:
    """Median wall time and median CPU time of this process (the CPU time is steadier on a shared machine)."""

    wall_ms: float
    cpu_ms: float

    def __str__(self) -> str:
        return f"{self.wall_ms:7.1f} ms (CPU {self.cpu_ms:5.1f} ms)"


def median_ms(fn, repeat: int) -> Timing:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return Timing(statistics.median(wall), statistics.median(cpu))


def weight(client, paths: list[str]) -> tuple[int, int]:
    """Bytes of the responses to ``paths``, as sent and gzipped (level 6, as a reverse proxy would)."""
    bodies = [client.get(p).content for p in paths]
    return sum(map(len, bodies)), sum(len(gzip.compress(b, 6)) for b in bodies)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=15)
    return parser.parse_args()


@contextmanager
def logged_in(years: int, runs: int) -> Iterator[tuple[object, list]]:
    """(a test client logged in as the athlete of ``years`` of synthetic history, its activities)."""
    from starlette.testclient import TestClient

    from loadmon.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LOADMON_DATA_DIR"] = tmp
        config = Path(tmp) / "config.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{tmp}/bench.sqlite"\n', encoding="utf-8")
        bench_athlete, activities = synthetic_history(years=years, runs=runs)
        last = max(a.start_time for a in activities)
        svc = Service.open(load_config(config, env={}), clock=lambda: last)
        athlete = svc.add_athlete("bench", timezone_name=bench_athlete.timezone)
        svc.store.record_import(athlete.id, path="bench", content_hash=None, records=_records(activities),
                                outcome="imported")
        user_service.add_user(svc, "bench", athlete_name="bench", role="athlete", password="bench password")
        try:
            with TestClient(create_app(svc)) as c:
                token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
                assert c.post("/login", data={"username": "bench", "password": "bench password", "csrf_token": token},
                              follow_redirects=False).status_code == 303
                yield c, activities
        finally:
            svc.close()


def main() -> None:
    args = arguments()
    with logged_in(args.years, args.runs) as (c, activities):
        today = median_ms(lambda: c.get("/"), args.repeat)
        api = median_ms(lambda: c.get("/api/status"), args.repeat)
        page = c.get("/").text
        assert "km" in page and "No runs yet" not in page, "Today shows the history"
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        sent, zipped = weight(c, ["/", *assets])
        plan = median_ms(lambda: c.get("/api/plan", params={"distance_km": "12", "descent_m": "150"}), args.repeat)
        # in a comeback (a knee symptom of 4/10 logged yesterday), Today adds the comeback limits
        csrf = c.get("/api/session").json()["csrf_token"]
        last = max(a.start_time for a in activities)
        added = c.post("/api/symptoms", headers={"X-CSRF-Token": csrf},
                       json={"site": "knee", "side": "right", "severity": 4,
                             "at": (last - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
        assert added.status_code == 201, added.text
        assert 'id="comeback"' in c.get("/").text, "Today shows the comeback limits"
        today_comeback = median_ms(lambda: c.get("/"), args.repeat)
    n_runs = sum(a.sport == "running" for a in activities)
    print(f"{len(activities)} activities ({n_runs} runs) over {args.years} years; median of {args.repeat}:")
    print(f"  GET /            {today}   (target < 50 ms)")
    print(f"  GET /api/status  {api}")
    print(f"  GET /api/plan    {plan}   (the pre-run check of a 12 km / 150 m run)")
    print(f"  GET / in a comeback {today_comeback}   (Today with the comeback limits: one more engine pass)")
    print(f"  Today page weight: {sent:,} bytes, {zipped:,} gzipped (the page and {', '.join(assets)}; "
          f"target < 150 KB)")


if __name__ == "__main__":
    main()
