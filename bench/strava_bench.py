"""Benchmark: the Strava requests a first backfill costs, against the test server with the real limits.

    python bench/strava_bench.py [--runs 1500] [--years 5] [--fit-share 0.4] [--json]

A 5-year history of 1,500 runs on the fake Strava (tests/strava_server.py: 100 reads per 15 minutes,
1,000 a day, the real headers and 429), 40 % of them also stored from a FIT file (the file's copy with
the device's descent, as `loadmon import` stores it), 1 in 20 point-to-point (start and end 12 km
apart). The backfill runs in process on a simulated clock (tests.strava_server.SimClock: the server,
the budget and the connector read it, and every wait for a window advances it instead of sleeping),
so five years of history take about a minute of wall time. After the backfill, the fill job
(when the code has one) is run again at each time it names (``resume_at``), as the daemon would.

Reported: API requests (pages, streams), the 15-minute windows and days they fell in, 429s, and the
simulated time from the first request until the last 42 days are *complete*: every run of those days
stored, and the copy that counts has a measured descent (from the device, or computed from the
streams) - what `loadmon status` needs for the current load. Targets: requests <= pages + one per
foot activity without a FIT copy; complete within the first two 15-minute windows.

The same script runs on the code before the change (it only uses the service's ``backfill``; the fill
is optional), which is how the "before" figures in docs/performance.md were taken.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from loadmon.config import load_config  # noqa: E402
from loadmon.domain import ActivityRecord, ElevationSource  # noqa: E402
from loadmon.service import Service  # noqa: E402
from loadmon.service.strava.backfill import backfill  # noqa: E402
from tests.strava_server import SimClock, StravaServer, hill_streams, summary_activity  # noqa: E402

CLIENT_ID, SECRET, STRAVA_ATHLETE = 4242, "bench-secret", 134815
FIRST_ID = 12_000_000_000
WINDOW = timedelta(minutes=15)
MEASURED = {ElevationSource.DEVICE, ElevationSource.COMPUTED}


def history(
    server: StravaServer, svc: Service, athlete_id: int, *, runs: int, years: float, fit_share: float, now: datetime
) -> dict[int, dict[str, Any]]:
    """``runs`` runs evenly over ``years`` up to yesterday; every ``fit_share`` of them also from a FIT file."""
    span = timedelta(days=365.25 * years)
    step = span / runs
    first = now - timedelta(days=1) - span
    fit_every = round(1 / fit_share) if fit_share else 0
    out = {}
    for i in range(runs):
        aid = FIRST_ID + i
        start = (first + i * step).replace(microsecond=0)
        distance = 6_000.0 + (i * 373) % 14_000
        p2p = i % 20 == 7
        extra = {"end_latlng": [45.2, 5.8]} if p2p else {}  # ~12 km from the start
        act = summary_activity(
            aid,
            athlete_id=STRAVA_ATHLETE,
            start=start,
            distance_m=distance,
            sport_type="TrailRun" if i % 3 == 0 else "Run",
            total_elevation_gain=40.0 + i % 90,
            **extra,
        )
        server.add_activity(act, streams=hill_streams(60, climb_m=40.0 + i % 90))
        # 40 %: i % 5 in (0, 2) when fit_share is 0.4
        fit = bool(fit_share) and (i % 5) < round(5 * fit_share) and fit_every > 0
        if fit:
            svc.store.upsert_activity(
                athlete_id,
                ActivityRecord(
                    source="fit",
                    source_id=aid,
                    sport="running",
                    start_time=start + timedelta(seconds=3),
                    distance_m=distance * 1.004,
                    moving_time_s=3_000.0,
                    elevation_gain_m=42.0 + i % 90,
                    elevation_loss_m=41.0 + i % 90,
                    elevation_source=ElevationSource.DEVICE,
                    avg_hr=150,
                    max_hr=170,
                    content_hash=f"bench-fit-{aid}",
                    extra={"has_serial": True},
                ),
            )
        out[aid] = {"start": start, "fit": fit, "p2p": p2p}
    return out


class Completion:
    """When the last 42 days became complete (checked at each progress report and after each run)."""

    def __init__(self, svc: Service, athlete_id: int, runs: dict[int, dict[str, Any]], clock: SimClock) -> None:
        self.svc, self.athlete_id, self.clock = svc, athlete_id, clock
        now = clock.now()
        self.since = now - timedelta(days=42)
        self.recent = {aid for aid, r in runs.items() if r["start"] >= self.since}
        self.at: datetime | None = None
        self.after_requests: int | None = None
        self.count = lambda: 0  # the server's API request count (set by run)

    def check(self, *_: Any) -> None:
        if self.at is not None:
            return
        acts = self.svc.store.list_activities(self.athlete_id, since=self.since.date())
        strava = {a.source_id for a in acts if a.source == "strava" and a.start_time >= self.since}
        if not self.recent <= strava:
            return
        counted = [a for a in acts if a.duplicate_of is None and not a.excluded and a.start_time >= self.since]
        if all(a.elevation_source in MEASURED for a in counted):
            self.at = self.clock.now()
            self.after_requests = self.count()


def run(args: argparse.Namespace) -> dict[str, Any]:
    start = datetime.combine(datetime.now(UTC).date() + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    clock = SimClock(start)
    with tempfile.TemporaryDirectory() as tmp, StravaServer(clock=clock.now, client_id=CLIENT_ID, client_secret=SECRET) as server:
        server.add_athlete(STRAVA_ATHLETE, "Bench", "Runner")
        cfg_path = Path(tmp) / "config.toml"
        cfg_path.write_text(
            f'[database]\nurl = "sqlite:///{Path(tmp) / "bench.sqlite"}"\n'
            f'[strava]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{SECRET}"\napi_url = "{server.url}"\n',
            encoding="utf-8",
        )
        svc = Service.open(load_config(cfg_path, env={}))
        svc = Service(config=svc.config, store=svc.store, clock=clock.now, sleep=clock.sleep)
        athlete = svc.athlete()
        server.connect(svc.store, athlete.id, STRAVA_ATHLETE, expires_at=start + timedelta(days=30))
        runs = history(server, svc, athlete.id, runs=args.runs, years=args.years, fit_share=args.fit_share, now=start)
        done = Completion(svc, athlete.id, runs, clock)
        done.count = lambda: len(server.requests())
        t0 = time.perf_counter()
        backfill(svc, athlete, alerts=False, progress=done.check)
        done.check()
        fills = 0
        try:
            from loadmon.service.strava.fill import fill
        except ImportError:  # the code before the change: the backfill read every stream itself
            fill = None
        while fill is not None:
            result = fill(svc, athlete, alerts=False)
            fills += 1
            done.check()
            if not result.left:
                break
            clock.set(max(clock.now(), result.resume_at or clock.now() + WINDOW))
        wall = time.perf_counter() - t0
        first_request = min(datetime.fromisoformat(r.at.replace("Z", "+00:00")) for r in server.requests())
        stats = server.stats()
        pages = len(server.requests(r"/athlete/activities$"))
        streams = len(server.requests(r"/streams$"))
        last = clock.now()
        svc.store.close()
    windows = {k: v for k, v in stats["windows"].items() if v.get("read")}
    no_fit = sum(1 for r in runs.values() if not r["fit"])
    complete_s = (done.at - first_request).total_seconds() if done.at else None
    return {
        "runs": args.runs,
        "years": args.years,
        "fit_copies": sum(1 for r in runs.values() if r["fit"]),
        "point_to_point": sum(1 for r in runs.values() if r["p2p"]),
        "recent_42d": len(done.recent),
        "requests": stats["api_requests"],
        "pages": pages,
        "streams": streams,
        "target_requests": pages + no_fit,
        "windows": len(windows),
        "days": len(stats["days"]),
        "max_reads_per_window": stats["max_read_per_window"],
        "rejected_429": stats["rejected_429"],
        "complete_42d_after_s": complete_s,
        "complete_42d_after_requests": done.after_requests,
        "complete_42d_in_window": int(complete_s // WINDOW.total_seconds()) + 1 if complete_s is not None else None,
        "all_descents_after_s": (last - first_request).total_seconds(),
        "fill_runs": fills,
        "wall_s": round(wall, 1),
    }


def _hm(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    m = int(seconds // 60)
    return f"{m // 60} h {m % 60:02d} min"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1500)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--fit-share", type=float, default=0.4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from loadmon.logs import configure_logging

    configure_logging(level="warning")
    out = run(args)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"{out['runs']} runs over {out['years']:g} years, {out['fit_copies']} also from FIT, "
        f"{out['point_to_point']} point-to-point, {out['recent_42d']} in the last 42 days"
    )
    print(
        f"requests: {out['requests']} ({out['pages']} pages + {out['streams']} streams); "
        f"target <= {out['target_requests']} (pages + runs without a FIT copy)"
    )
    print(
        f"windows with reads: {out['windows']} over {out['days']} day(s); max {out['max_reads_per_window']} reads "
        f"per window; 429s: {out['rejected_429']}"
    )
    print(
        f"last 42 days complete after {_hm(out['complete_42d_after_s'])} (window {out['complete_42d_in_window']}, "
        f"after {out['complete_42d_after_requests']} requests); "
        f"every descent measured after {_hm(out['all_descents_after_s'])}; wall {out['wall_s']} s"
    )


if __name__ == "__main__":
    main()
