"""Fixtures for the Strava connector tests: a session and a connector on the fake Strava (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connectors.strava import RateBudget, RetryPolicy, StravaConnector, StravaTokens, make_session

# the fake Strava and its clock (the ``strava_server`` and ``sim_clock`` fixtures) are shared: tests/conftest.py
from tests.conftest import ATHLETE_ID, CLIENT_ID, CLIENT_SECRET
from tests.strava_server import SimClock, StravaServer


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
