"""Listing, pagination, resume, token expiry and failure handling through stravalib."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.strava import RateBudget
from loadmon.domain import ElevationSource
from loadmon.errors import ConnectorError, RateLimitExhausted, StravaAuthError, StravaMalformedError
from tests.strava.conftest import ATHLETE_ID, add_runs, tokens_from
from tests.strava_server import hill_streams, summary_activity

EPOCH_2019 = datetime(2019, 1, 1, tzinfo=UTC)


def _all(pages):
    return [r for p in pages for r in p.records]


def test_backfill_of_450_activities_over_three_pages(strava_server, make_connector) -> None:
    ids = add_runs(strava_server, 450, start=EPOCH_2019)
    conn = make_connector()
    pages = list(conn.iter_activity_pages(with_descent=False))

    listed = [r.source_id for r in _all(pages)]
    assert sorted(listed) == sorted(ids) and len(listed) == len(set(listed))  # each exactly once
    starts = [r.start_time for r in _all(pages)]
    assert starts == sorted(starts)  # oldest first
    assert [len(p.records) for p in pages] == [200, 199, 51]  # page 2+ re-reads the cursor's second
    assert pages[-1].done and not any(p.done for p in pages[:-1])
    assert pages[-1].cursor == max(starts)
    listing = strava_server.requests(r"/athlete/activities$")
    assert len(listing) == len(pages) == conn.requests_made
    assert all(r.query["per_page"] == "200" for r in listing)
    assert max(ids) > 2**32 and all(isinstance(i, int) for i in listed)


def test_resume_after_an_interrupted_backfill_refetches_nothing(strava_server, make_connector) -> None:
    ids = add_runs(strava_server, 450, start=EPOCH_2019)
    stored: dict[int, object] = {}
    cursor = None
    conn = make_connector()
    for page in conn.iter_activity_pages(with_descent=False):
        stored.update({r.source_id: r for r in page.records})
        cursor = page.cursor
        if page.number == 1:
            break  # the process dies after persisting page 1
    before = len(strava_server.requests(r"/athlete/activities$"))
    conn2 = make_connector(tokens=conn.tokens)
    resumed = list(conn2.iter_activity_pages(after=cursor, with_descent=False))
    again = [r.source_id for r in _all(resumed) if r.source_id in stored]
    assert again == [ids[199]]  # only the activity at the cursor's own second
    stored.update({r.source_id: r for r in _all(resumed)})
    assert sorted(stored) == sorted(ids)
    assert len(strava_server.requests(r"/athlete/activities$")) - before == len(resumed) == 2


def test_two_activities_in_the_same_second_across_a_page_boundary(strava_server, make_connector) -> None:
    t0 = EPOCH_2019
    for i in range(4):
        strava_server.add_activity(summary_activity(100 + i, athlete_id=ATHLETE_ID, start=t0 + timedelta(hours=i)))
    strava_server.add_activity(summary_activity(200, athlete_id=ATHLETE_ID, start=t0 + timedelta(hours=3)))  # same second as 103
    conn = make_connector()
    got = [r.source_id for r in _all(conn.iter_activity_pages(per_page=4, with_descent=False))]
    assert sorted(got) == [100, 101, 102, 103, 200]


def test_known_unchanged_activities_cost_no_streams(strava_server, make_connector) -> None:
    ids = add_runs(strava_server, 5, start=EPOCH_2019)
    conn = make_connector()
    first = list(conn.iter_activity_pages())
    hashes = {r.source_id: r.content_hash for r in _all(first)}
    strava_server.activities[ids[2]].body["name"] = "Renamed"  # an edit changes the hash
    n_streams = len(strava_server.requests(r"/streams$"))
    pages = list(conn.iter_activity_pages(known=lambda r: hashes.get(r.source_id) == r.content_hash))
    assert [r.source_id for r in _all(pages)] == [ids[2]]
    assert sorted(pages[0].unchanged_ids) == sorted(set(ids) - {ids[2]})
    assert pages[0].seen_ids == frozenset(ids)
    assert len(strava_server.requests(r"/streams$")) == n_streams + 1


def test_streams_give_computed_descent_and_404_gives_the_estimate(strava_server, make_connector) -> None:
    t0 = EPOCH_2019
    strava_server.add_activity(summary_activity(1, athlete_id=ATHLETE_ID, start=t0, total_elevation_gain=50.0),
                               streams=hill_streams(200, climb_m=50.0))
    strava_server.add_activity(summary_activity(2, athlete_id=ATHLETE_ID, start=t0 + timedelta(days=1), total_elevation_gain=33.0),
                               streams=hill_streams(200, climb_m=33.0))
    strava_server.streams_missing.add(2)
    strava_server.add_activity(summary_activity(3, athlete_id=ATHLETE_ID, start=t0 + timedelta(days=2), sport_type="Hike",
                                                manual=True, total_elevation_gain=800.0))
    strava_server.add_activity(summary_activity(4, athlete_id=ATHLETE_ID, start=t0 + timedelta(days=3), sport_type="Ride",
                                                total_elevation_gain=500.0), streams=hill_streams(50))
    strava_server.add_activity(summary_activity(5, athlete_id=ATHLETE_ID, start=t0 + timedelta(days=4), manual=True,
                                                total_elevation_gain=0.0))
    recs = {r.source_id: r for r in _all(make_connector().iter_activity_pages())}

    assert recs[1].elevation_source is ElevationSource.COMPUTED
    assert recs[1].elevation_loss_m == pytest.approx(50.0, rel=0.05)  # the hill comes back down
    assert recs[2].elevation_source is ElevationSource.ESTIMATED and recs[2].elevation_loss_m == 33.0
    assert recs[2].extra["descent_note"] == "streams 404"
    assert recs[3].elevation_source is ElevationSource.ESTIMATED and recs[3].elevation_loss_m == 800.0
    assert recs[4].elevation_source is ElevationSource.ESTIMATED  # rides: no stream request spent
    assert recs[5].elevation_source is ElevationSource.NONE and recs[5].elevation_loss_m is None
    streamed = {r.path for r in strava_server.requests(r"/streams$")}
    assert streamed == {"/api/v3/activities/1/streams", "/api/v3/activities/2/streams"}
    q = strava_server.requests(r"/activities/1/streams$")[0].query
    assert q["keys"] == "altitude,distance,time,heartrate" and q["key_by_type"].lower() == "true"


@pytest.mark.slow
def test_access_token_expiring_mid_backfill_is_refreshed_transparently(strava_server, make_connector, sim_clock) -> None:
    ids = add_runs(strava_server, 450, start=EPOCH_2019)
    tokens = tokens_from(strava_server, expires_at=sim_clock.now() + timedelta(minutes=30))
    conn = make_connector(tokens=tokens, budget=RateBudget(clock=sim_clock.now, sleep=sim_clock.sleep))
    got = []
    for page in conn.iter_activity_pages():  # 450 streams at 98/window: the clock passes 30 min
        got += [r.source_id for r in page.records]
    assert sorted(got) == sorted(ids)
    saved = make_connector.saved_tokens
    assert saved and saved[-1] == conn.tokens
    assert saved[0].refresh_token != tokens.refresh_token  # the rotated refresh token reached on_tokens
    assert conn.tokens.refresh_token in strava_server.refresh_tokens
    assert tokens.refresh_token not in strava_server.refresh_tokens
    assert not strava_server.requests(r"^/api/v3/", status=401)  # refreshed before expiry, not after


def test_access_token_rejected_early_is_refreshed_once_and_retried(strava_server, make_connector, sim_clock) -> None:
    ids = add_runs(strava_server, 3, start=EPOCH_2019)
    conn = make_connector()
    strava_server.expire_access_tokens()  # the server drops the token although expires_at says 6 h
    got = [r.source_id for r in _all(conn.iter_activity_pages(with_descent=False))]
    assert got == ids
    assert len(strava_server.requests(r"^/api/v3/", status=401)) == 1
    assert strava_server.token_requests == ["refresh_token"]
    assert make_connector.saved_tokens[-1] == conn.tokens


def test_refresh_refused_mid_backfill_is_an_auth_error(strava_server, make_connector, sim_clock) -> None:
    add_runs(strava_server, 3, start=EPOCH_2019)
    conn = make_connector(tokens=tokens_from(strava_server, expires_at=sim_clock.now() + timedelta(minutes=1)))
    strava_server.revoke(ATHLETE_ID)
    strava_server.state.invalid_refresh_status = 401
    with pytest.raises(StravaAuthError, match=f"Strava access was revoked for athlete {ATHLETE_ID}.*loadmon strava connect"):
        list(conn.iter_activity_pages())


def test_429_is_waited_out_until_the_next_window(strava_server, make_connector, sim_clock) -> None:
    ids = add_runs(strava_server, 3, start=EPOCH_2019)
    sim_clock.advance(7 * 60)  # 00:07
    t0 = sim_clock.now()
    strava_server.consume(100)  # another process of the same app spent the window
    conn = make_connector()
    got = [r.source_id for r in _all(conn.iter_activity_pages(with_descent=False))]
    assert got == ids
    rejected = strava_server.requests(r"^/api/v3/", status=429)
    assert len(rejected) == 1
    assert sim_clock.now() >= t0.replace(minute=15, second=0)  # resumed in the next window
    ok = strava_server.requests(r"/athlete/activities$", status=200)
    assert ok[0].window != rejected[0].window


def test_injected_429_without_exhaustion_is_waited_out_too(strava_server, make_connector, sim_clock) -> None:
    ids = add_runs(strava_server, 2, start=EPOCH_2019)
    strava_server.inject("429", 1)
    t0 = sim_clock.now()
    got = [r.source_id for r in _all(make_connector().iter_activity_pages(with_descent=False))]
    assert got == ids
    assert sim_clock.now() >= t0 + timedelta(minutes=15)


def test_429_with_wait_false_raises_with_resume_time(strava_server, make_connector, sim_clock) -> None:
    add_runs(strava_server, 2, start=EPOCH_2019)
    strava_server.consume(100)
    with pytest.raises(RateLimitExhausted) as err:
        list(make_connector(wait=False).iter_activity_pages())
    assert err.value.resume_at >= sim_clock.now().replace(minute=15, second=0)
    assert err.value.resume_at < sim_clock.now().replace(minute=16, second=0)


def test_5xx_and_dropped_connections_are_retried_with_backoff(strava_server, make_connector, sim_clock) -> None:
    ids = add_runs(strava_server, 2, start=EPOCH_2019)
    strava_server.inject("500", 1, path=r"/athlete/activities$")
    strava_server.inject("drop", 1, path=r"/athlete/activities$")
    strava_server.inject("malformed", 1, path=r"/athlete/activities$")
    got = [r.source_id for r in _all(make_connector().iter_activity_pages(with_descent=False))]
    assert got == ids
    assert sim_clock.sleeps == [1.0, 2.0, 4.0]  # RetryPolicy(base 1 s) from conftest


def test_persistent_5xx_becomes_a_connector_error(strava_server, make_connector) -> None:
    add_runs(strava_server, 2, start=EPOCH_2019)
    strava_server.inject("503", 10)
    with pytest.raises(ConnectorError, match="failed after 4 attempts: HTTP 503"):
        list(make_connector().iter_activity_pages())


def test_malformed_item_is_named_and_the_others_come_through(strava_server, make_connector) -> None:
    ids = add_runs(strava_server, 4, start=EPOCH_2019, streams=False)
    bad = summary_activity(777, athlete_id=ATHLETE_ID, start=EPOCH_2019 + timedelta(hours=30), name="Broken run")
    bad["distance"] = "twelve km"
    strava_server.add_activity(bad)
    worse = summary_activity(778, athlete_id=ATHLETE_ID, start=EPOCH_2019 + timedelta(hours=31))
    worse["start_date"] = "yesterday"
    strava_server.add_activity(worse, start=EPOCH_2019 + timedelta(hours=31))
    pages = list(make_connector().iter_activity_pages())
    assert sorted(r.source_id for r in _all(pages)) == sorted(ids)
    errors = [e for p in pages for e in p.errors]
    assert {e.activity_id for e in errors} == {777, 778}
    msgs = {e.activity_id: e.message for e in errors}
    assert "Strava activity 777 ('Broken run')" in msgs[777] and "'distance'" in msgs[777] and "twelve km" in msgs[777]
    assert "Strava activity 778" in msgs[778] and "start_date" in msgs[778]
    assert all(isinstance(e.error, StravaMalformedError) for e in errors)


def test_malformed_streams_fall_back_to_the_estimate(strava_server, make_connector) -> None:
    strava_server.add_activity(summary_activity(1, athlete_id=ATHLETE_ID, start=EPOCH_2019, total_elevation_gain=12.0),
                               streams={"altitude": [1.0, "high", 3.0], "distance": [0, 1, 2]})
    (rec,) = _all(make_connector().iter_activity_pages())
    assert rec.elevation_source is ElevationSource.ESTIMATED and rec.elevation_loss_m == 12.0
    assert rec.extra["descent_note"] == "streams malformed"


def test_fetch_activity_and_deleted_activity(strava_server, make_connector) -> None:
    (aid,) = add_runs(strava_server, 1, start=EPOCH_2019)
    conn = make_connector()
    rec = conn.fetch_activity(aid)
    assert rec is not None and rec.source_id == aid and rec.elevation_source is ElevationSource.COMPUTED
    strava_server.delete_activity(aid)
    assert conn.fetch_activity(aid) is None


def test_daily_budget_exhaustion_resumes_after_midnight(strava_server, make_connector, sim_clock) -> None:
    add_runs(strava_server, 1, start=EPOCH_2019)
    budget = RateBudget(clock=sim_clock.now, sleep=sim_clock.sleep, read_limit_daily=1000)
    conn = make_connector(budget=budget, wait=False)
    strava_server.consume(990)  # 990 of 1000 used today by someone else
    sim_clock.advance(3600)
    conn.list_activities(after=EPOCH_2019)  # the response tells the budget: 991/1000 today
    assert [s.day_used for s in budget.status() if s.kind == "read"] == [991]
    strava_server.consume(7)  # 998: only the margin is left
    conn.list_activities(after=EPOCH_2019)  # 999 reported
    with pytest.raises(RateLimitExhausted) as err:
        conn.list_activities(after=EPOCH_2019)
    midnight = (sim_clock.now() + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    assert midnight <= err.value.resume_at < midnight + timedelta(minutes=1)


def test_one_activity_whose_streams_always_fail_gets_the_estimate(strava_server, make_connector) -> None:
    ids = add_runs(strava_server, 3, start=EPOCH_2019)
    strava_server.inject("500", 10, path=rf"/activities/{ids[1]}/streams$")
    recs = {r.source_id: r for r in _all(make_connector().iter_activity_pages())}
    assert sorted(recs) == ids
    assert recs[ids[1]].elevation_source is ElevationSource.ESTIMATED
    assert recs[ids[1]].extra["descent_note"] == "streams failed (HTTP 5xx)"
    assert recs[ids[0]].elevation_source is recs[ids[2]].elevation_source is ElevationSource.COMPUTED


def test_a_streams_outage_stops_the_backfill(strava_server, make_connector) -> None:
    add_runs(strava_server, 4, start=EPOCH_2019)
    strava_server.inject("503", 100, path=r"/streams$")
    with pytest.raises(ConnectorError, match="streams of activity .* failed after 4 attempts: HTTP 503"):
        list(make_connector().iter_activity_pages())


def test_inactive_application_is_an_auth_error_with_advice(strava_server, make_connector) -> None:
    add_runs(strava_server, 1, start=EPOCH_2019)
    strava_server.inject("403_inactive", 1)
    with pytest.raises(StravaAuthError, match="application is inactive"):
        list(make_connector().iter_activity_pages())


def test_a_refresh_done_by_stravalib_itself_reaches_on_tokens(strava_server, make_connector, sim_clock) -> None:
    """stravalib refreshes on its own (wall clock) when it knows the client id/secret: the
    connector must pick the rotated tokens up from the client and report them."""
    sim_clock.set(datetime(2020, 6, 1, tzinfo=UTC))  # tokens issued now are expired by the wall clock
    ids = add_runs(strava_server, 2, start=EPOCH_2019)
    conn = make_connector()
    first = conn.tokens
    got = [r.source_id for r in _all(conn.iter_activity_pages(with_descent=False))]
    assert got == ids
    assert "refresh_token" in strava_server.token_requests
    assert make_connector.saved_tokens and make_connector.saved_tokens[-1] == conn.tokens != first
    assert conn.tokens.refresh_token in strava_server.refresh_tokens
