"""Benchmark: the web app's Today page and /api/status for an athlete with 10 years of history.

Targets (issue 13): Today under 50 ms server time (median), page weight under 150 KB with all
its assets. The history is the engine benchmark's synthetic one (bench/engine_bench.py), stored
in a fresh SQLite database; the requests go through the ASGI app in process (Starlette's test
client), so the time is the server's, without a network.

    .venv/bin/python bench/web_today.py [--years 10] [--runs 2500] [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import fields
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


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    from starlette.testclient import TestClient

    from loadmon.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LOADMON_DATA_DIR"] = tmp
        config = Path(tmp) / "config.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{tmp}/bench.sqlite"\n', encoding="utf-8")
        bench_athlete, activities = synthetic_history(years=args.years, runs=args.runs)
        last = max(a.start_time for a in activities)
        svc = Service.open(load_config(config, env={}), clock=lambda: last)
        athlete = svc.add_athlete("bench", timezone_name=bench_athlete.timezone)
        svc.store.record_import(athlete.id, path="bench", content_hash=None, records=_records(activities),
                                outcome="imported")
        user_service.add_user(svc, "bench", athlete_name="bench", role="athlete", password="bench password")
        with TestClient(create_app(svc)) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            assert c.post("/login", data={"username": "bench", "password": "bench password", "csrf_token": token},
                          follow_redirects=False).status_code == 303
            today_ms = _median_ms(lambda: c.get("/"), args.repeat)
            api_ms = _median_ms(lambda: c.get("/api/status"), args.repeat)
            page = c.get("/").content
            assert b"km" in page and b"No runs yet" not in page, "Today shows the history"
            css = c.get("/static/style.css").content
        svc.close()
    n_runs = sum(a.sport == "running" for a in activities)
    print(f"{len(activities)} activities ({n_runs} runs) over {args.years} years; median of {args.repeat}:")
    print(f"  GET /            {today_ms:7.1f} ms   (target < 50 ms)")
    print(f"  GET /api/status  {api_ms:7.1f} ms")
    print(f"  Today page weight: {len(page) + len(css):,} bytes (HTML {len(page):,} + CSS {len(css):,}; "
          f"no scripts, images or fonts; target < 150 KB)")


if __name__ == "__main__":
    main()
