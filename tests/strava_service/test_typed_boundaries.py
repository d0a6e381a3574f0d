"""What the Strava service hands upward carries data, not prose: the reason of a refused
access, the counts of a run the budget stopped, why a descent is an estimate, and the stored
connection as a record whose repr holds no token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.strava import DescentNote
from connectors.strava.descent import estimated_descent
from loadmon.domain import ElevationSource
from loadmon.errors import ConfigError, RateLimitExhausted, StravaAuthError, StravaAuthReason
from loadmon.service import Service
from loadmon.service.strava import sync
from loadmon.service.strava.credentials import auth_failed
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import hill_streams, summary_activity
from tests.strava_service.conftest import connect, strava_config
from tests.strava_service.helpers import add_history


def test_a_refused_client_secret_is_a_config_error_and_leaves_the_grant_alone(tmp_path, store, store_url, strava_server,
                                                                               sim_clock) -> None:
    svc = Service(config=strava_config(tmp_path, store_url, strava_server.url, client_secret="not-the-secret"),
                  store=store, clock=sim_clock.now, sleep=sim_clock.sleep)
    athlete = connect(svc, strava_server, expires_at=sim_clock.now() - timedelta(minutes=1))  # refreshed first
    add_history(strava_server, 1, start=sim_clock.now() - timedelta(days=2), every=timedelta(days=1))
    with pytest.raises(ConfigError) as err:
        sync(svc, athlete)
    assert err.value.key == "strava.client_secret"
    assert not svc.store.get_strava_connection(athlete.id).needs_reauth  # the athlete need not reconnect


def test_the_reason_not_the_message_says_whose_fault_a_refusal_is(svc, athlete) -> None:
    # an athlete-grant refusal whose text happens to mention the application credentials
    grant = StravaAuthError("Strava access was revoked (the application credentials were fine)")
    assert grant.reason is StravaAuthReason.GRANT
    out = auth_failed(svc, athlete, grant)
    assert isinstance(out, StravaAuthError) and svc.store.get_strava_connection(athlete.id).needs_reauth

    svc.store.save_strava_tokens(athlete.id, strava_athlete_id=ATHLETE_ID, access_token="a", refresh_token="r",
                                 expires_at=datetime(2030, 1, 1, tzinfo=UTC), scope=None)  # clears needs_reauth
    app = StravaAuthError("client refused", reason=StravaAuthReason.APPLICATION_CREDENTIALS)
    out = auth_failed(svc, athlete, app)
    assert isinstance(out, ConfigError) and out.key == "strava.client_secret"
    assert not svc.store.get_strava_connection(athlete.id).needs_reauth
    inactive = StravaAuthError("refused", reason=StravaAuthReason.APPLICATION_INACTIVE)
    assert auth_failed(svc, athlete, inactive) is inactive
    assert not svc.store.get_strava_connection(athlete.id).needs_reauth


def test_a_spent_budget_carries_the_counts_of_the_run(svc, athlete, strava_server, sim_clock) -> None:
    add_history(strava_server, 3, start=sim_clock.now() - timedelta(days=10), every=timedelta(days=1))
    strava_server.inject("429", 1, path=r"/streams$")
    with pytest.raises(RateLimitExhausted) as err:
        sync(svc, athlete, wait=False)
    assert err.value.counts["requests"] == 2  # the listing, then the refused streams request
    assert err.value.counts["new"] == len(svc.store.list_activities(athlete.id))  # what was stored before the stop
    assert err.value.resume_at > sim_clock.now()
    plain = RateLimitExhausted("spent", resume_at=err.value.resume_at)
    assert plain.counts == {}  # always there: no getattr for the caller


def test_descent_notes_are_an_enum_and_only_a_server_error_is_read_again(svc, athlete, strava_server,
                                                                        sim_clock) -> None:
    assert estimated_descent(100.0, note=DescentNote.STREAMS_FAILED).note is DescentNote.STREAMS_FAILED
    assert [n for n in DescentNote if n.retry] == [DescentNote.STREAMS_FAILED]
    assert DescentNote.of({"descent_note": "streams 404"}) is DescentNote.STREAMS_MISSING
    assert DescentNote.of({}) is None and DescentNote.of({"descent_note": "something else"}) is None
    # end to end: a fresh run whose streams failed (5xx) is read again at the next sync; one without streams is not
    start = sim_clock.now() - timedelta(hours=6)
    for aid in (50, 51):
        strava_server.add_activity(summary_activity(aid, athlete_id=ATHLETE_ID, start=start + timedelta(hours=aid - 50),
                                                    total_elevation_gain=30.0), streams=hill_streams(60, climb_m=30.0))
    strava_server.streams_missing.add(51)
    strava_server.inject("500", 100, r"/activities/50/streams$")
    sync(svc, athlete)
    sources = {a.source_id: a.elevation_source for a in svc.store.list_activities(athlete.id)}
    assert sources == {50: ElevationSource.ESTIMATED, 51: ElevationSource.ESTIMATED}
    strava_server.faults.clear()
    sync(svc, athlete)
    assert len(strava_server.requests(r"/activities/50/streams$", status=200)) == 1  # the estimate is replaced
    assert {a.source_id: a.elevation_source for a in svc.store.list_activities(athlete.id)}[50] is \
        ElevationSource.COMPUTED
    assert len(strava_server.requests(r"/activities/51/streams$")) == 1  # read once, within 12 h not again


def test_the_stored_connection_is_a_record_without_tokens_in_its_repr(svc, athlete) -> None:
    conn = svc.store.get_strava_connection(athlete.id)
    assert conn.strava_athlete_id == ATHLETE_ID and conn.scope == "read,activity:read_all" and not conn.needs_reauth
    assert conn.access_token and conn.access_token not in repr(conn) and conn.refresh_token not in repr(conn)
    with pytest.raises(AttributeError):
        setattr(conn, "needs_reauth", True)  # noqa: B010 -- frozen: mypy would reject the plain assignment


COUNTS = ["new", "updated", "deleted", "unchanged", "errors", "error_messages", "skipped", "requests", "pages", "listed"]


def test_the_dict_view_keeps_the_json_keys_in_their_order(svc, athlete, strava_server, sim_clock) -> None:
    """`--json` and job_runs print these dicts: the records' to_dict() keeps the keys and their order."""
    from loadmon.service import strava_sync

    add_history(strava_server, 3, start=sim_clock.now() - timedelta(days=5), every=timedelta(days=1))
    bf = strava_sync.backfill(svc, athlete, alerts=False)
    assert list(bf) == [*COUNTS, "athlete", "done", "cursor", "resume_at", "waits", "waited_s", "total_listed",
                        "stopped"]
    out = strava_sync.sync(svc, athlete)
    assert list(out) == [*COUNTS, "rechecked", "athlete", "window_start", "listed_from", "complete"]
    info = strava_sync.status(svc, athlete)
    assert list(info) == ["athlete", "connected", "credentials_configured", "api_url", "strava_athlete_id", "scope",
                          "needs_reauth", "token_expires_at", "token_expired", "backfill", "last_sync", "budget"]
    assert list(info["budget"][0]) == ["kind", "window_start", "window_used", "window_limit", "day", "day_used",
                                       "day_limit", "margin"]
    assert list(strava_sync.disconnect(svc, athlete)) == ["athlete", "was_connected", "deauthorized", "remote_error",
                                                            "deleted_activities"]
    assert list(strava_sync.status(svc, athlete))[:5] == ["athlete", "connected", "credentials_configured", "api_url",
                                                          "backfill"]


def test_the_package_hands_up_records(svc, athlete, strava_server, sim_clock) -> None:
    from loadmon.service.strava import BackfillResult, StravaStatus, SyncResult, backfill, status

    add_history(strava_server, 4, start=sim_clock.now() - timedelta(days=6), every=timedelta(days=1))
    bf = backfill(svc, athlete, alerts=False)
    assert isinstance(bf, BackfillResult) and bf.done and bf.counts.new == 4 and bf.resume_at is None
    res = sync(svc, athlete)
    assert isinstance(res, SyncResult) and res.complete and res.counts.unchanged == 4 and not res.changed
    assert res.backfill is None and res.alerts is None  # nothing changed: the rules did not run
    st = status(svc, athlete)
    assert isinstance(st, StravaStatus) and st.connected and st.link is not None and not st.link.needs_reauth
    assert st.last_sync is not None and st.last_sync["counts"]["unchanged"] == 4
