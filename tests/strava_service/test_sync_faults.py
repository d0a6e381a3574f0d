"""Sync failures one by one: missing streams, a malformed item, token rotation, revoked access,
alerts after a change, and no secret anywhere in logs, errors or results."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import structlog

from loadmon.domain import ElevationSource
from loadmon.errors import ConnectorError, LoadmonError, StravaAuthError
from loadmon.service import Service, strava_sync
from tests.strava.conftest import ATHLETE_ID, CLIENT_SECRET
from tests.strava_server import hill_streams, summary_activity
from tests.strava_service.conftest import connect, strava_config
from tests.strava_service.helpers import add_history


def _stored(svc, athlete):
    return {a.source_id: a for a in svc.store.list_activities(athlete.id, include_deleted=True)}


def test_streams_404_stores_the_activity_with_the_estimated_descent(svc, athlete, strava_server, sim_clock) -> None:
    act = summary_activity(11, athlete_id=ATHLETE_ID, start=sim_clock.now() - timedelta(days=3), total_elevation_gain=120.0)
    strava_server.add_activity(act, streams=hill_streams(60, climb_m=120.0))
    strava_server.streams_missing.add(11)
    out = strava_sync.sync(svc, athlete)
    assert out["new"] == 1 and out["errors"] == 0
    a = _stored(svc, athlete)[11]
    assert a.elevation_source is ElevationSource.ESTIMATED and a.elevation_loss_m == a.elevation_gain_m == 120.0


def test_a_malformed_item_is_an_error_naming_it_and_the_others_are_stored(svc, athlete, strava_server,
                                                                         sim_clock) -> None:
    ids = list(add_history(strava_server, 4, start=sim_clock.now() - timedelta(days=8), every=timedelta(days=1)))
    bad = summary_activity(777, athlete_id=ATHLETE_ID, start=sim_clock.now() - timedelta(days=2), name="Broken run")
    bad["distance"] = "twelve km"
    strava_server.add_activity(bad)
    out = strava_sync.sync(svc, athlete)
    assert out["new"] == 4 and out["errors"] == 1
    (message,) = out["error_messages"]
    assert "777" in message and "Broken run" in message and "distance" in message and "twelve km" in message
    assert set(_stored(svc, athlete)) == set(ids)
    assert strava_sync.sync(svc, athlete)["deleted"] == 0  # a listed but unreadable activity is not "deleted"


def test_rotated_refresh_tokens_are_stored_at_once(svc, strava_server, sim_clock) -> None:
    athlete = connect(svc, strava_server, expires_at=sim_clock.now() + timedelta(minutes=2))
    old = svc.store.get_strava_connection(athlete.id)
    add_history(strava_server, 3, start=sim_clock.now() - timedelta(days=5), every=timedelta(days=1))
    strava_server.inject("503", 5, path=r"/athlete/activities$")  # 5 attempts: the run fails after the refresh
    with pytest.raises(ConnectorError):
        strava_sync.sync(svc, athlete)
    new = svc.store.get_strava_connection(athlete.id)
    assert strava_server.token_requests == ["refresh_token"]
    assert new.refresh_token != old.refresh_token and new.expires_at > old.expires_at
    assert new.refresh_token in strava_server.refresh_tokens  # the one Strava now accepts
    assert old.refresh_token not in strava_server.refresh_tokens
    assert not new.needs_reauth
    # another process (a new Service on the same database) carries on with the stored tokens
    other = Service(config=svc.config, store=svc.store, clock=sim_clock.now, sleep=sim_clock.sleep)
    assert strava_sync.sync(other, athlete)["new"] == 3


def test_revoked_access_marks_the_connection_and_says_to_reconnect(svc, strava_server, sim_clock) -> None:
    athlete = connect(svc, strava_server, expires_at=sim_clock.now() + timedelta(minutes=1))
    add_history(strava_server, 2, start=sim_clock.now() - timedelta(days=5), every=timedelta(days=1))
    strava_server.revoke(ATHLETE_ID)
    strava_server.state.invalid_refresh_status = 401
    with pytest.raises(StravaAuthError, match=r"revoked.*run `loadmon strava connect` again") as err:
        strava_sync.sync(svc, athlete)
    assert "'me'" in str(err.value) and "re-authorisation" in str(err.value)
    assert svc.store.get_strava_connection(athlete.id).needs_reauth
    assert svc.store.strava_connected_athletes() == []  # the daemon skips it from now on
    sent = len(strava_server.log)
    with pytest.raises(StravaAuthError, match="loadmon strava connect"):
        strava_sync.sync(svc, athlete)
    assert len(strava_server.log) == sent  # nothing more sent to Strava
    assert strava_sync.status(svc, athlete)["needs_reauth"] is True


@pytest.mark.slow
def test_a_change_runs_the_alert_rules_and_no_change_does_not(svc, athlete, strava_server, sim_clock) -> None:
    now = sim_clock.now()
    for i in range(12):  # 8 km every 3 days for five weeks: more than the 30 days the spike rule needs
        strava_server.add_activity(summary_activity(200 + i, athlete_id=ATHLETE_ID, start=now - timedelta(days=40 - 3 * i),
                                                    distance_m=8_000.0), streams=hill_streams(40))
    strava_sync.backfill(svc, athlete)
    strava_server.add_activity(summary_activity(300, athlete_id=ATHLETE_ID, start=now - timedelta(hours=20),
                                                distance_m=16_000.0, moving_time_s=5_400), streams=hill_streams(40))
    out = strava_sync.sync(svc, athlete)
    assert out["new"] == 1 and out["alerts"]["athletes_evaluated"] == 1 and out["alerts"]["alerts_to_send"] >= 1
    new = svc.store.list_alerts(athlete.id, alert_ids=out["alerts"]["alert_ids"])
    assert any(a["rule"] == "run_spike" and a["notified"] for a in new)  # 16 km after 8 km runs, sent
    sim_clock.advance(600)
    again = strava_sync.sync(svc, athlete)
    assert "alerts" not in again and again["new"] == again["updated"] == 0


def test_no_token_code_or_secret_in_logs_errors_or_results(svc, strava_server, sim_clock, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    athlete = svc.athlete()
    secrets = [CLIENT_SECRET]
    texts: list[str] = []
    with structlog.testing.capture_logs() as events:
        code = strava_server.issue_code(ATHLETE_ID)
        secrets.append(code)
        result = strava_sync.complete_connect(svc, athlete, code=code, scope="read,activity:read_all")
        texts += [repr(result), json.dumps(result.to_dict())]
        row = svc.store.get_strava_connection(athlete.id)
        secrets += [row.access_token, row.refresh_token]
        add_history(strava_server, 3, start=sim_clock.now() - timedelta(days=5), every=timedelta(days=1))
        bad = summary_activity(5, athlete_id=ATHLETE_ID, start=sim_clock.now() - timedelta(days=1))
        bad["distance"] = "far"
        strava_server.add_activity(bad)
        strava_server.inject("401", 1)  # forces a refresh (and a rotation) mid-run
        strava_server.inject("503", 1)
        out = strava_sync.sync(svc, athlete, wait=True)
        texts.append(json.dumps(out, default=str))
        row = svc.store.get_strava_connection(athlete.id)
        secrets += [row.access_token, row.refresh_token]
        texts.append(json.dumps(strava_sync.status(svc, athlete), default=str))
        strava_server.revoke(ATHLETE_ID)
        strava_server.expire_access_tokens()
        with pytest.raises(LoadmonError) as err:
            strava_sync.sync(svc, athlete)
        texts += [str(err.value), repr(err.value)]
        with pytest.raises(LoadmonError) as err2:  # a refused code
            strava_sync.complete_connect(svc, athlete, code=code, scope="read,activity:read_all")
        texts += [str(err2.value), repr(err2.value)]
        texts.append(json.dumps(strava_sync.disconnect(svc, athlete), default=str))
    captured = capsys.readouterr()
    texts += [r.getMessage() for r in caplog.records] + [repr(e) for e in events] + [captured.out, captured.err]
    assert out["errors"] == 1 and len(events) > 5
    for secret in secrets:
        assert len(secret) >= 8
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"secret leaked into: {leaks[0][:300]}"


def test_disconnect_deletes_the_tokens_even_when_strava_cannot_be_reached(tmp_path, store, store_url, strava_server,
                                                                          sim_clock) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    svc = Service(config=strava_config(tmp_path, store_url, dead), store=store, clock=sim_clock.now,
                  sleep=sim_clock.sleep)
    athlete = connect(svc, strava_server, expires_at=sim_clock.now() - timedelta(minutes=1))  # expired: refresh first
    out = strava_sync.disconnect(svc, athlete)
    assert out["was_connected"] and not out["deauthorized"]
    assert "deleted here" in out["remote_error"] and "strava.com/settings/apps" in out["remote_error"]
    assert svc.store.get_strava_connection(athlete.id) is None
    assert strava_sync.disconnect(svc, athlete)["was_connected"] is False
