"""Benchmark: the web app's /activities list and one activity's page for an athlete with 10 years
of history (the engine benchmark's synthetic history, as bench/web_today.py builds it), every
activity with a stored 500-point elevation profile.

Server time through the ASGI app in process (Starlette's test client, no network), median of
``--repeat``: the list's first page and its last page, an activity's page (the newest run, and one
five years back: the engine runs over the history up to that day), and /api/activities (every
activity as JSON).

    .venv/bin/python bench/web_activities.py [--years 10] [--runs 2500] [--repeat 15]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import synthetic_history
from web_today import _records, median_ms

from loadmon.config import load_config
from loadmon.elevation import PROFILE_MAX_POINTS
from loadmon.service import Service
from loadmon.service import users as user_service


def _profile(distance_m: float | None, seed: int) -> tuple[tuple[float, float], ...]:
    d = distance_m or 5000.0
    n = PROFILE_MAX_POINTS
    return tuple((round(d * i / (n - 1), 1), round(60 + 40 * math.sin(i / 40 + seed), 1)) for i in range(n))


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
        records = [replace(r, profile=_profile(r.distance_m, i)) for i, r in enumerate(_records(activities))]
        svc.store.record_import(athlete.id, path="bench", content_hash=None, records=records, outcome="imported")
        user_service.add_user(svc, "bench", athlete_name="bench", role="athlete", password="bench password")
        stored = svc.store.list_activities(athlete.id)
        runs = [a for a in stored if a.sport == "running"]
        newest, older = runs[-1], runs[len(runs) // 2]
        pages = -(-len(stored) // 100)
        with TestClient(create_app(svc)) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            assert (
                c.post(
                    "/login", data={"username": "bench", "password": "bench password", "csrf_token": token}, follow_redirects=False
                ).status_code
                == 303
            )
            page = c.get(f"/activities/{newest.id}")
            assert page.status_code == 200 and b"<svg" in page.content, "the activity page draws its profile"
            timings = {
                "GET /activities": median_ms(lambda: c.get("/activities"), args.repeat),
                f"GET /activities?page={pages}": median_ms(lambda: c.get(f"/activities?page={pages}"), args.repeat),
                "GET /activities/{newest run}": median_ms(lambda: c.get(f"/activities/{newest.id}"), args.repeat),
                "GET /activities/{run 5 years back}": median_ms(lambda: c.get(f"/activities/{older.id}"), args.repeat),
                "GET /api/activities": median_ms(lambda: c.get("/api/activities"), args.repeat),
            }
            list_bytes = len(c.get("/activities").content)
        svc.close()
    print(
        f"{len(stored)} activities ({len(runs)} runs) over {args.years} years, each with a "
        f"{PROFILE_MAX_POINTS}-point profile; median of {args.repeat}:"
    )
    for what, ms in timings.items():
        print(f"  {what:36s} {ms}")
    print(f"  activity page weight: {len(page.content):,} bytes (inline SVG); list page: {list_bytes:,} bytes")


if __name__ == "__main__":
    main()
