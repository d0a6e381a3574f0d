"""Must-show: SIGKILL a real `loadmon strava backfill` process mid-way, run it again, and get the
same database as an uninterrupted run (the fake Strava runs as a subprocess too)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from loadmon.config import load_config
from loadmon.service import Service, strava_sync
from loadmon.storage import Store
from tests.conftest import REPO_ROOT
from tests.strava.conftest import ATHLETE_ID, CLIENT_ID, CLIENT_SECRET
from tests.strava_server import Limits, StravaState
from tests.strava_service.helpers import add_history, comparable, streamed

SERVER = REPO_ROOT / "tests" / "strava_server.py"
N = 300
BIG = 1_000_000


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADMON_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _setup_database(tmp_path: Path, name: str, url: str, tokens: dict) -> tuple[Path, str]:
    db_url = f"sqlite:///{tmp_path / f'{name}.sqlite'}"
    store = Store.open(db_url)
    try:
        athlete = store.ensure_athlete("me")
        store.save_strava_tokens(athlete.id, strava_athlete_id=ATHLETE_ID, access_token=tokens["access_token"],
                                 refresh_token=tokens["refresh_token"],
                                 expires_at=datetime.fromtimestamp(tokens["expires_at"], UTC), scope="read,activity:read_all")
    finally:
        store.close()
    config = tmp_path / f"{name}.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[strava]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
                      f'api_url = "{url}"\nread_limit_15min = {BIG}\nread_limit_daily = {BIG}\ndefer_streams = false\n',
                      encoding="utf-8")
    return config, db_url


def _backfill(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "loadmon", "--config", str(config), "strava", "backfill"],
                            cwd=REPO_ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def _count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute("select count(*) from activities").fetchone()[0]


def _activities(db_url: str) -> list[dict]:
    store = Store.open(db_url, migrate_schema=False)
    try:
        (athlete,) = store.list_athletes()
        return comparable(store.list_activities(athlete.id, include_deleted=True))
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_backfill_then_rerun_gives_the_database_of_an_uninterrupted_run(tmp_path) -> None:
    state = StravaState(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        limits=Limits(read_15min=BIG, read_daily=BIG, overall_15min=BIG, overall_daily=BIG))
    state.add_athlete(ATHLETE_ID)
    history = add_history(state, N, start=datetime.now(UTC) - timedelta(days=400), every=timedelta(hours=30))
    tokens_killed, tokens_clean = state.issue_tokens(ATHLETE_ID), state.issue_tokens(ATHLETE_ID)
    (tmp_path / "state.json").write_text(json.dumps(state.to_json()))
    server = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", "--state", str(tmp_path / "state.json")],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().rsplit(" ", 1)[1].strip()

        def stats() -> dict:
            return requests.get(f"{url}/_admin/stats", timeout=5).json()

        def streams_paths() -> Counter:
            log = requests.get(f"{url}/_admin/requests", timeout=5).json()
            return Counter(r["path"] for r in log if r["path"].endswith("/streams"))

        clean_config, clean_url = _setup_database(tmp_path, "clean", url, tokens_clean)
        killed_config, killed_url = _setup_database(tmp_path, "killed", url, tokens_killed)
        log = tmp_path / "backfill.log"

        # the reference: one uninterrupted run (in this process)
        svc = Service.open(load_config(clean_config, env={}))
        try:
            assert strava_sync.backfill(svc, svc.athlete(), alerts=False)["done"]
        finally:
            svc.close()
        clean_requests, clean_streams = stats()["api_requests"], streams_paths()
        clean_pages = clean_requests - sum(clean_streams.values())

        # the same backfill, killed in the middle of its second page
        proc = _backfill(killed_config, log)
        db = tmp_path / "killed.sqlite"
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if _count(db) >= 230:
                    break
            except sqlite3.OperationalError:  # the schema is being created
                pass
            time.sleep(0.005)
        assert proc.poll() is None, "the backfill finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        stored_at_kill = _count(db)
        assert 230 <= stored_at_kill < N

        assert _backfill(killed_config, log).wait(timeout=120) == 0, log.read_text()
        assert _activities(killed_url) == _activities(clean_url)  # the same rows, each activity once
        assert len(_activities(killed_url)) == N

        # without refetching: at most the one streams request in flight at the kill, plus re-listing one page
        killed_streams = streams_paths() - clean_streams
        foot = sum(1 for a in history.values() if streamed(a))
        assert sum(clean_streams.values()) == foot
        assert foot <= sum(killed_streams.values()) <= foot + 1
        killed_pages = stats()["api_requests"] - clean_requests - sum(killed_streams.values())
        assert killed_pages <= clean_pages + 1
        print(f"\nSIGKILL after {stored_at_kill}/{N} stored: rerun refetched {sum(killed_streams.values()) - foot} "
              f"streams and {killed_pages - clean_pages} page(s); databases identical")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
