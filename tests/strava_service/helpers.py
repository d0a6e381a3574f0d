"""Building Strava histories on the fake server, and comparing stored activities."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import StravaServer, hill_streams, summary_activity

FOOT = {"Run", "TrailRun", "Hike", "Walk"}
FIRST_ID = 9_000_000_000  # above 2**32, as real ids are now


def sport_of(i: int) -> str:
    """80 % on foot: Run, TrailRun, Run, Hike, then a Ride (every 5th)."""
    return ("Run", "TrailRun", "Run", "Hike", "Ride")[i % 5]


def add_history(server: StravaServer, n: int, *, start: datetime, every: timedelta = timedelta(hours=20),
                first_id: int = FIRST_ID, athlete_id: int = ATHLETE_ID) -> dict[int, dict]:
    """``n`` activities from ``start``: 80 % on foot with streams, 1 in 97 a manual entry (no streams)."""
    out = {}
    for i in range(n):
        aid = first_id + i * 7
        sport = sport_of(i)
        manual = i % 97 == 0
        act = summary_activity(aid, athlete_id=athlete_id, start=start + i * every, sport_type=sport, manual=manual,
                               distance_m=5_000.0 + 37 * i % 9_000, total_elevation_gain=40.0 + i % 5)
        server.add_activity(act, streams=None if manual else hill_streams(60, climb_m=40.0 + i % 5))
        out[aid] = act
    return out


def streamed(act: dict) -> bool:
    """Does syncing this activity cost a streams request?"""
    return act["sport_type"] in FOOT and not act["manual"]


def comparable(activities) -> list[dict]:
    """Stored activities without database ids (for comparing two databases)."""
    rows = []
    for a in activities:
        d = {k: getattr(a, k) for k in a.__dataclass_fields__ if k not in ("id", "athlete_id", "duplicate_of")}
        d["is_duplicate"] = a.duplicate_of is not None
        rows.append(d)
    return sorted(rows, key=lambda r: (r["source"], r["source_id"]))
