"""`loadmon strava connect|status|backfill|disconnect` and `loadmon sync` through CliRunner,
against the fake Strava on the real clock (the CLI's)."""

from __future__ import annotations

import json
import re
import socket
import webbrowser
from datetime import UTC, datetime, timedelta

import pytest
import requests
from typer.testing import CliRunner

from loadmon.cli import app
from loadmon.storage import Store
from tests.strava.conftest import ATHLETE_ID, CLIENT_ID, CLIENT_SECRET
from tests.strava_server import StravaServer, summary_activity
from tests.strava_service.helpers import add_history


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server():
    with StravaServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:  # real clock
        server.add_athlete(ATHLETE_ID, "Ada", "Runner")
        yield server


@pytest.fixture
def cli(tmp_path, monkeypatch, live_server):
    for name in [n for n in __import__("os").environ if n.startswith("LOADMON_")]:
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "db.sqlite"
    port = _free_port()

    def write(read_limit: int = 100, secret: str = CLIENT_SECRET) -> None:
        (tmp_path / "config.toml").write_text(
            f'[database]\nurl = "sqlite:///{db}"\n'
            f'[strava]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{secret}"\napi_url = "{live_server.url}"\n'
            f"redirect_port = {port}\nread_limit_15min = {read_limit}\n"
            "defer_streams = false\n", encoding="utf-8")  # every foot activity's streams during the backfill

    write()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--config", str(tmp_path / "config.toml"), *args])

    invoke.write = write
    invoke.db_url = f"sqlite:///{db}"
    invoke.port = port
    return invoke


def _connection(cli):
    store = Store.open(cli.db_url)
    try:
        athlete = store.list_athletes()[0]
        return store.get_strava_connection(athlete.id)
    finally:
        store.close()


def _connect(cli, live_server):
    code = live_server.issue_code(ATHLETE_ID, "read,activity:read_all")
    res = cli("strava", "connect", "--code", f"http://127.0.0.1:{cli.port}/?state=x&code={code}&scope=read,activity:read_all")
    assert res.exit_code == 0, res.output
    return code, res


def test_connect_with_a_code_stores_the_tokens_and_prints_none(cli, live_server) -> None:
    code, res = _connect(cli, live_server)
    assert f"connected me to Strava athlete {ATHLETE_ID}" in res.output
    conn = _connection(cli)
    assert conn.strava_athlete_id == ATHLETE_ID and conn.scope == "read,activity:read_all"
    for secret in (code, conn.access_token, conn.refresh_token, CLIENT_SECRET):
        assert secret not in res.output


def test_connect_without_the_activity_scope_is_refused(cli, live_server) -> None:
    code = live_server.issue_code(ATHLETE_ID, "read")
    res = cli("strava", "connect", "--code", code, "--scope", "read")
    assert res.exit_code == 1 and "activity:read" in res.output and "loadmon strava connect" in res.output
    store = Store.open(cli.db_url)
    try:
        assert all(store.get_strava_connection(a.id) is None for a in store.list_athletes())
    finally:
        store.close()


def test_connect_through_the_local_callback(cli, live_server, monkeypatch) -> None:
    opened: list[str] = []

    def browser(url: str) -> bool:  # the user clicks Authorize: Strava redirects to the callback
        opened.append(url)
        reply = requests.get(url, timeout=10)
        assert reply.status_code == 200 and "connected" in reply.text
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    res = cli("strava", "connect", "--timeout", "20")
    assert res.exit_code == 0, res.output
    assert opened and opened[0] in res.output  # the URL is printed too (headless machines)
    assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{cli.port}%2F" in opened[0]
    assert "scope=read%2Cactivity%3Aread_all" in opened[0]
    assert _connection(cli).scope == "read,activity:read_all"


def test_connect_rejects_a_redirect_with_another_state(cli, live_server, monkeypatch) -> None:
    def browser(url: str) -> bool:
        forged = re.sub(r"state=[^&]+", "state=forged", url)
        requests.get(forged, timeout=10)
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    res = cli("strava", "connect", "--timeout", "20")
    assert res.exit_code == 1 and "state" in res.output


@pytest.mark.slow
def test_status_backfill_no_wait_sync_and_disconnect(cli, live_server) -> None:
    cli.write(read_limit=10)
    live_server.limits.read_15min = 10
    res = cli("strava", "status")
    assert res.exit_code == 0 and "not connected" in res.output
    _connect(cli, live_server)
    add_history(live_server, 30, start=datetime.now(UTC) - timedelta(days=60), every=timedelta(days=1))

    res = cli("strava", "status")
    assert res.exit_code == 0, res.output
    assert "connected as Strava athlete" in res.output and "access token expires" in res.output
    assert "backfill: not started" in res.output and "budget read: 0/10 this 15-min window" in res.output
    conn = _connection(cli)
    assert conn.access_token not in res.output and conn.refresh_token not in res.output

    res = cli("strava", "backfill", "--no-wait")  # 10 reads per window, margin 2: stops after 8
    assert res.exit_code == 3, res.output
    assert re.search(r"resume after \d\d:\d\d UTC", res.output) and "loadmon strava backfill" in res.output
    assert live_server.stats()["rejected_429"] == 0 and live_server.max_read_per_window <= 10

    res = cli("strava", "status", "--json")
    info = json.loads(res.stdout)
    assert info["connected"] and not info["backfill"]["done"] and info["backfill"]["resume_at"]
    assert info["budget"][0]["window_used"] >= 8 and info["budget"][0]["window_limit"] == 10

    res = cli("sync", "--no-wait")  # the window is spent: nothing sent, exit 3 with the time
    assert res.exit_code == 3 and "resume after" in res.output

    live_server.limits.read_15min = 1000
    cli.write(read_limit=1000)
    res = cli("sync", "--json")
    assert res.exit_code == 0, res.output
    (out,) = json.loads(res.stdout)
    assert out["athlete"] == "me" and out["errors"] == 0
    assert out["backfill"]["done"]  # the unfinished backfill was continued and completed

    res = cli("strava", "disconnect")
    assert res.exit_code == 0 and "disconnected me" in res.output
    assert re.search(r"\b[1-9]\d* Strava activities deleted", res.output)  # Strava's terms: the data goes too
    assert _connection(cli) is None
    assert not [t for t in live_server.access_tokens.values() if t.athlete_id == ATHLETE_ID]  # revoked on Strava
    res = cli("sync")
    assert res.exit_code == 1 and "no athlete is connected" in res.output


def test_missing_client_secret_is_a_config_error_naming_the_keys(cli, live_server) -> None:
    cli.write(secret="")
    res = cli("strava", "backfill")
    assert res.exit_code == 2 and "strava.client_secret" in res.output and "LOADMON_STRAVA__CLIENT_SECRET" in res.output


def test_a_skipped_activity_is_one_error_line_on_stderr(cli, live_server) -> None:
    """A poison item (elapsed 1e9 s) is reported once, as the `error` line under the summary,
    not also as a warning log line repeating it (the daemon's job logs it instead)."""
    _connect(cli, live_server)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    add_history(live_server, 2, start=start, every=timedelta(days=1))
    live_server.add_activity(summary_activity(987001, athlete_id=ATHLETE_ID, start=start + timedelta(hours=5),
                                              elapsed_time_s=10**9), athlete_id=ATHLETE_ID)
    res = cli("sync")
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.stderr.splitlines() if "987001" in ln]
    assert len(lines) == 1 and lines[0].startswith("  error "), res.stderr
    assert "elapsed_time_s = 1000000000 is not plausible" in lines[0]
