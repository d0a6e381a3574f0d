"""The fake Strava also runs as a subprocess (for end-to-end tests of the daemon/CLI)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from connectors.strava import RateBudget, StravaConnector, StravaTokens, make_session
from tests.strava_server import StravaState, hill_streams, summary_activity

SERVER = Path(__file__).resolve().parents[1] / "strava_server.py"


def test_subprocess_server_serves_a_sync_and_saves_its_state(tmp_path) -> None:
    now = datetime.now(UTC)
    state = StravaState(client_id=77, client_secret="sub-secret")
    state.add_athlete(501)
    for i in range(3):
        state.add_activity(summary_activity(8_000_000_000 + i, athlete_id=501, start=now - timedelta(days=3 - i)),
                           streams=hill_streams(40))
    issued = state.issue_tokens(501, expires_at=now + timedelta(minutes=2))  # refreshed at once (margin 5 min)
    (tmp_path / "state.json").write_text(json.dumps(state.to_json()))

    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", "0", "--state", str(tmp_path / "state.json"),
         "--save-state", str(tmp_path / "saved.json"), "--read-limit-15min", "50"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("strava-test-server listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        tokens = StravaTokens(access_token=issued["access_token"], refresh_token=issued["refresh_token"],
                              expires_at=datetime.fromtimestamp(issued["expires_at"], UTC), athlete_id=501)
        saved: list[StravaTokens] = []
        session = make_session(url)
        conn = StravaConnector(session, client_id=77, client_secret="sub-secret", tokens=tokens,
                               budget=RateBudget(), on_tokens=saved.append)
        records = [r for p in conn.iter_activity_pages(after=now - timedelta(days=30)) for r in p.records]
        assert len(records) == 3 and saved

        stats = requests.get(f"{url}/_admin/stats", timeout=5).json()
        assert stats["api_requests"] == 4 and stats["max_read_per_window"] <= 50
        assert stats["limits"]["read_15min"] == 50 and stats["token_requests"] == ["refresh_token"]
        requests.post(f"{url}/_admin/fault", json={"kind": "503", "count": 1}, timeout=5)
        assert session.get(f"{url}/api/v3/athlete").status_code == 503
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    after = json.loads((tmp_path / "saved.json").read_text())
    assert saved[-1].refresh_token in {t["refresh_token"] for t in after["refresh_tokens"]}
    assert len(after["activities"]) == 3
