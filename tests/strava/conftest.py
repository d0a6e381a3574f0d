"""Fixtures for the Strava connector tests: a simulated clock, the fake Strava, a connector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connectors.strava import RateBudget, RetryPolicy, StravaConnector, StravaTokens, make_session
from tests.strava_server import SimClock, StravaServer

ATHLETE_ID = 134_815  # Strava athlete ids are plain integers
CLIENT_ID = 4242
CLIENT_SECRET = "s3cr3t-client-secret-value"


def sim_start() -> datetime:
    """Next UTC midnight (+1 day): deterministic window boundaries, and always in the future, so
    stravalib's own wall-clock expiry check never fires before ours (which uses the sim clock)."""
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=2)


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock(sim_start())


@pytest.fixture
def strava_server(sim_clock: SimClock) -> Iterator[StravaServer]:
    with StravaServer(clock=sim_clock.now, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        server.add_athlete(ATHLETE_ID, "Ada", "Runner")
        yield server


@pytest.fixture
def session(strava_server: StravaServer) -> Iterator[requests.Session]:
    s = make_session(strava_server.url)
    yield s
    s.close()


def tokens_from(server: StravaServer, athlete_id: int = ATHLETE_ID, *, expires_at: datetime | None = None) -> StravaTokens:
    raw = server.issue_tokens(athlete_id, expires_at=expires_at)
    return StravaTokens(access_token=raw["access_token"], refresh_token=raw["refresh_token"],
                        expires_at=datetime.fromtimestamp(raw["expires_at"], UTC), athlete_id=athlete_id,
                        scope="read,activity:read_all")


class ConnectorFactory:
    def __init__(self, server: StravaServer, session: requests.Session, clock: SimClock) -> None:
        self.server, self.session, self.clock = server, session, clock
        self.saved_tokens: list[StravaTokens] = []

    def __call__(self, *, tokens: StravaTokens | None = None, budget: RateBudget | None = None, **kw: Any) -> StravaConnector:
        budget = budget or RateBudget(clock=self.clock.now, sleep=self.clock.sleep)
        kw.setdefault("retry", RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=30.0))
        return StravaConnector(
            self.session, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            tokens=tokens or tokens_from(self.server), budget=budget, on_tokens=self.saved_tokens.append,
            clock=self.clock.now, sleep=self.clock.sleep, **kw,
        )


@pytest.fixture
def make_connector(strava_server: StravaServer, session: requests.Session, sim_clock: SimClock) -> ConnectorFactory:
    return ConnectorFactory(strava_server, session, sim_clock)


def add_runs(server: StravaServer, n: int, *, start: datetime, every: timedelta = timedelta(hours=20),
             first_id: int = 9_000_000_000, sport_of: Callable[[int], str] | None = None,
             streams: bool = True) -> list[int]:
    """``n`` activities, one every ``every`` from ``start``; ids above 2**32 (as real ones are now)."""
    from tests.strava_server import hill_streams, summary_activity

    ids = []
    for i in range(n):
        aid = first_id + i * 7
        sport = sport_of(i) if sport_of else "Run"
        act = summary_activity(aid, athlete_id=ATHLETE_ID, start=start + i * every, sport_type=sport,
                               total_elevation_gain=40.0 + i % 5)
        server.add_activity(act, streams=hill_streams(60, climb_m=40.0 + i % 5) if streams else None)
        ids.append(aid)
    return ids
