"""Shared pytest fixtures: the real fixtures folder (when present) and the stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(os.environ.get("LOADMON_SHARED_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """``../shared/fixtures`` (real FIT files and Strava JSON); skips when the folder is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED_FIXTURES}")
    return SHARED_FIXTURES


# -- stores: every storage test runs on SQLite and, when LOADMON_TEST_DATABASE_URL is set, PostgreSQL --
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

PG_URL = os.environ.get("LOADMON_TEST_DATABASE_URL")


def _pg_admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A private PostgreSQL database for this test session (created and dropped here)."""
    if not PG_URL:
        pytest.skip("LOADMON_TEST_DATABASE_URL not set")
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(_pg_admin_url(PG_URL))
    name = f"loadmon_test_{uuid.uuid4().hex[:10]}"
    conninfo = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _pg_store_session(pg_database_url):
    from loadmon.storage import Store

    store = Store.open(pg_database_url)
    yield store
    store.close()


def _truncate(store) -> None:
    from sqlalchemy import text

    from loadmon.storage.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    store._activity_lists.clear()  # TRUNCATE fires no trigger: the activity revisions start again


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    """A database URL for an empty, migrated database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'loadmon.sqlite'}"
    store = request.getfixturevalue("_pg_store_session")
    _truncate(store)
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def store(store_url):
    from loadmon.storage import Store

    s = Store.open(store_url)
    yield s
    s.close()


def make_config(tmp_path: Path, database_url: str | None = None, **sections):
    """A validated Config for tests (no user config file involved)."""
    from loadmon.config import load_config

    env = {"LOADMON_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'loadmon.sqlite'}"}
    path = tmp_path / "config.toml"
    path.write_text(_to_toml(sections), encoding="utf-8")
    return load_config(path, env=env)


def _to_toml(sections: dict, prefix: str = "") -> str:
    import json

    lines: list[str] = []
    tables: list[tuple[str, dict]] = []
    for key, value in sections.items():
        if isinstance(value, dict):
            tables.append((f"{prefix}{key}", value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for name, table in tables:
        inner = _to_toml(table, f"{name}.")
        out += f"\n[{name}]\n" + inner
    return out


@pytest.fixture
def open_service(tmp_path):
    """``open_service(database_url=None, *, clock=None, **sections)``: ``Service.open`` on
    ``make_config(tmp_path, database_url, **sections)``; every service opened is closed after the test."""
    from loadmon.service import Service

    opened = []

    def open_(database_url: str | None = None, *, clock=None, **sections):
        svc = Service.open(make_config(tmp_path, database_url, **sections), clock=clock)
        opened.append(svc)
        return svc

    yield open_
    for svc in reversed(opened):
        svc.close()


# -- the fake Strava on a simulated clock: the connector tests (tests/strava) and the service tests --
ATHLETE_ID = 134_815  # Strava athlete ids are plain integers
CLIENT_ID = 4242
CLIENT_SECRET = "s3cr3t-client-secret-value"


def sim_start():
    """Next UTC midnight (+1 day): deterministic window boundaries, and always in the future, so
    stravalib's own wall-clock expiry check never fires before ours (which uses the sim clock)."""
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=2)


@pytest.fixture
def sim_clock():
    from tests.strava_server import SimClock

    return SimClock(sim_start())


@pytest.fixture
def strava_server(sim_clock):
    from tests.strava_server import StravaServer

    with StravaServer(clock=sim_clock.now, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        server.add_athlete(ATHLETE_ID, "Ada", "Runner")
        yield server


@pytest.fixture(autouse=True)
def _logging_reset_after_each_test():
    """A CLI command configures logging for its own run (quiet: warnings only, on the runner's stream);
    put the process-wide default back (info, on the real stderr) so no test depends on the one before."""
    yield
    import sys

    from loadmon.logs import configure_logging

    configure_logging(stream=sys.__stderr__)


#: Slow tests whose outcome rests on timing (leases, lock checks, kills at a moment, races between
#: processes): `make test` runs them one at a time after the other slow tests, which share two processes.
SERIAL_PATHS = (
    "tests/scale/",  # Celery visibility leases of 4 s: a task re-delivered under load is synced twice
    "tests/daemon/test_end_to_end.py",  # SIGKILL at a chosen moment of a sync
)


def pytest_collection_modifyitems(config, items) -> None:
    root = Path(__file__).resolve().parent.parent
    for item in items:
        path = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        if item.get_closest_marker("slow") and path.startswith(SERIAL_PATHS):
            item.add_marker(pytest.mark.serial)
