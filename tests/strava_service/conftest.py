"""Fixtures for the Strava service tests: a Service on the ``store`` fixture (SQLite and PostgreSQL) pointed at
the fake Strava on its simulated clock (``strava_server``, ``sim_clock``: tests/conftest.py), and a connected athlete."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from loadmon.domain import Athlete
from loadmon.service import Service
from tests.conftest import ATHLETE_ID, CLIENT_ID, CLIENT_SECRET, make_config
from tests.strava_server import StravaServer


@pytest.fixture(autouse=True)
def _logs_to_real_stderr():
    """CLI runs point the logs at CliRunner's (closed) stream: keep them on the real stderr."""
    import sys

    from loadmon.logs import configure_logging

    configure_logging(stream=sys.__stderr__)
    yield
    configure_logging(stream=sys.__stderr__)


def strava_config(tmp_path, database_url: str, server_url: str, **strava):
    """``defer_streams`` is off unless a test asks: these tests pin the streams of every foot activity
    during the backfill (budget, resume, kill); tests/strava_service/test_fewer_requests.py pins the deferral."""
    strava.setdefault("defer_streams", False)
    return make_config(tmp_path, database_url, strava={"client_id": str(CLIENT_ID), "client_secret": CLIENT_SECRET,
                                                       "api_url": server_url, **strava})


@pytest.fixture
def svc(tmp_path, store, store_url, strava_server, sim_clock) -> Service:
    """A Service on the test store whose clock and sleep are the simulated ones."""
    return Service(config=strava_config(tmp_path, store_url, strava_server.url), store=store, clock=sim_clock.now,
                   sleep=sim_clock.sleep)


def connect(svc: Service, server: StravaServer, *, athlete: Athlete | None = None, expires_at: datetime | None = None,
            strava_athlete_id: int = ATHLETE_ID) -> Athlete:
    """Store tokens the fake Strava issued, as `loadmon strava connect` would."""
    athlete = athlete or svc.athlete()
    raw = server.issue_tokens(strava_athlete_id, expires_at=expires_at)
    svc.store.save_strava_tokens(athlete.id, strava_athlete_id=strava_athlete_id, access_token=raw["access_token"],
                                 refresh_token=raw["refresh_token"],
                                 expires_at=datetime.fromtimestamp(raw["expires_at"], UTC), scope="read,activity:read_all")
    return athlete


@pytest.fixture
def athlete(svc, strava_server) -> Athlete:
    return connect(svc, strava_server)


@pytest.fixture
def lite_svc(tmp_path, strava_server, sim_clock) -> Iterator[Service]:
    """Like ``svc`` on SQLite only, for behaviour that does not depend on the database."""
    from loadmon.storage import Store

    url = f"sqlite:///{tmp_path / 'lite.sqlite'}"
    store = Store.open(url)
    yield Service(config=strava_config(tmp_path, url, strava_server.url), store=store, clock=sim_clock.now,
                  sleep=sim_clock.sleep)
    store.close()


@pytest.fixture
def lite_athlete(lite_svc, strava_server) -> Athlete:
    return connect(lite_svc, strava_server)
