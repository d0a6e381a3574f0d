"""Tokens, codes and the client secret never reach a log line, an error message or a repr."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import structlog

from connectors.strava import exchange_code, refresh
from loadmon.errors import LoadmonError, StravaAuthError
from tests.strava.conftest import ATHLETE_ID, CLIENT_ID, CLIENT_SECRET, add_runs
from tests.strava_server import summary_activity


def test_no_secret_in_logs_errors_or_reprs(strava_server, session, make_connector, sim_clock, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)  # stravalib, urllib3 and requests at their most verbose
    secrets: list[str] = [CLIENT_SECRET]
    seen_errors: list[BaseException] = []
    with structlog.testing.capture_logs() as events:
        code = strava_server.issue_code(ATHLETE_ID)
        secrets.append(code)
        tokens = exchange_code(session, CLIENT_ID, CLIENT_SECRET, code, scope="read,activity:read_all")
        secrets += [tokens.access_token, tokens.refresh_token]
        fresh = refresh(session, CLIENT_ID, CLIENT_SECRET, tokens)
        secrets += [fresh.access_token, fresh.refresh_token]
        with pytest.raises(StravaAuthError) as err:  # the old refresh token was rotated away
            refresh(session, CLIENT_ID, CLIENT_SECRET, tokens)
        seen_errors.append(err.value)

        add_runs(strava_server, 3, start=sim_clock.now() - timedelta(days=30))
        bad = summary_activity(5, athlete_id=ATHLETE_ID, start=sim_clock.now() - timedelta(days=1))
        bad["distance"] = "far"
        strava_server.add_activity(bad)
        strava_server.inject("503", 1)
        strava_server.inject("429", 1)
        strava_server.inject("401", 1)  # forces a refresh mid-run
        conn = make_connector(tokens=fresh)
        pages = list(conn.iter_activity_pages())
        seen_errors += [e.error for p in pages for e in p.errors]
        secrets += [conn.tokens.access_token, conn.tokens.refresh_token]
        assert conn.tokens != fresh  # it did refresh

        strava_server.revoke(ATHLETE_ID)
        strava_server.expire_access_tokens()
        with pytest.raises(LoadmonError) as err2:
            conn.fetch_activity(1)
        seen_errors.append(err2.value)

    texts = [r.getMessage() for r in caplog.records] + [repr(e) for e in events]
    texts += [str(e) for e in seen_errors] + [repr(e) for e in seen_errors]
    texts += [repr(tokens), str(tokens), repr(fresh), repr(conn), repr(conn.tokens), capsys.readouterr().out]
    texts += [repr(r) for p in pages for r in p.records]
    assert len(caplog.records) > 10 and len(events) > 5  # there was plenty to leak into
    for secret in secrets:
        assert len(secret) >= 8
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"secret leaked into: {leaks[0][:200]}"
    assert "athlete 134815" in str(seen_errors[0])
