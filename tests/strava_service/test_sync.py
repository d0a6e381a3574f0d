"""`sync` and `reconcile`: deletions, edits, fresh re-reads, incremental window, 429 and 5xx - through stravalib."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.domain import ElevationSource
from loadmon.errors import LoadmonError, RateLimitExhausted
from loadmon.service import strava_sync
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import hill_streams, summary_activity
from tests.strava_service.helpers import add_history


def _stored(svc, athlete):
    return {a.source_id: a for a in svc.store.list_activities(athlete.id, include_deleted=True)}


def test_sync_marks_deleted_and_updates_edited_activities(svc, athlete, strava_server, sim_clock) -> None:
    now = sim_clock.now()
    ids = list(add_history(strava_server, 10, start=now - timedelta(days=20), every=timedelta(days=1)))
    first = strava_sync.sync(svc, athlete)
    assert (first["new"], first["deleted"], first["errors"]) == (10, 0, 0)

    strava_server.delete_activity(ids[0])
    strava_server.activities[ids[1]].body.update(sport_type="Ride", type="Ride")  # TrailRun -> Ride
    strava_server.activities[ids[2]].body["distance"] = 21_097.5
    strava_server.activities[ids[3]].body.update(private=True, visibility="only_me")
    sim_clock.advance(3600)
    before = len(strava_server.requests())
    second = strava_sync.sync(svc, athlete)

    assert (second["new"], second["updated"], second["deleted"], second["unchanged"]) == (0, 3, 1, 6)
    stored = _stored(svc, athlete)
    assert stored[ids[0]].deleted
    assert ids[0] not in {a.source_id for a in svc.store.list_activities(athlete.id)}  # out of the load
    assert stored[ids[1]].sport == "cycling"
    assert stored[ids[2]].distance_m == 21_097.5
    assert stored[ids[3]].private is True
    # one listing + the streams of the two edited foot activities (the ride needs none)
    assert second["requests"] == len(strava_server.requests()) - before == 3


def test_reconcile_covers_only_its_window(svc, athlete, strava_server, sim_clock) -> None:
    now = sim_clock.now()
    old = summary_activity(70, athlete_id=ATHLETE_ID, start=now - timedelta(days=60))
    recent = summary_activity(71, athlete_id=ATHLETE_ID, start=now - timedelta(days=3))
    for act in (old, recent):
        strava_server.add_activity(act, streams=hill_streams(40))
    strava_sync.backfill(svc, athlete)
    for aid in (70, 71):
        strava_server.delete_activity(aid)

    out = strava_sync.sync(svc, athlete)  # reconciles the last 30 days
    assert out["deleted"] == 1
    assert [a.source_id for a in svc.store.list_activities(athlete.id)] == [70]
    out = strava_sync.reconcile(svc, athlete, days=90)
    assert out["deleted"] == 1 and svc.store.list_activities(athlete.id) == []


def test_a_deleted_activity_that_reappears_is_restored(svc, athlete, strava_server, sim_clock) -> None:
    act = summary_activity(80, athlete_id=ATHLETE_ID, start=sim_clock.now() - timedelta(days=5))
    strava_server.add_activity(act, streams=hill_streams(40))
    strava_sync.sync(svc, athlete)
    strava_server.delete_activity(80)
    assert strava_sync.sync(svc, athlete)["deleted"] == 1
    strava_server.add_activity(act, streams=hill_streams(40))  # e.g. made visible again
    out = strava_sync.sync(svc, athlete)
    assert out["updated"] == 1 and not _stored(svc, athlete)[80].deleted


def test_fresh_activities_are_reread_so_an_elevation_correction_is_picked_up(svc, athlete, strava_server,
                                                                             sim_clock) -> None:
    act = summary_activity(90, athlete_id=ATHLETE_ID, start=sim_clock.now() - timedelta(hours=5),
                           total_elevation_gain=40.0)
    strava_server.add_activity(act, streams=hill_streams(120, climb_m=40.0))
    strava_sync.sync(svc, athlete)
    assert _stored(svc, athlete)[90].elevation_loss_m == pytest.approx(40.0, rel=0.1)

    strava_server.activities[90].streams = hill_streams(120, climb_m=65.0)  # Strava corrected the altitude
    sim_clock.advance(3600)
    out = strava_sync.sync(svc, athlete)  # read an hour ago: not again yet
    assert out["requests"] == 1 and out["unchanged"] == 1

    sim_clock.advance(12 * 3600)
    out = strava_sync.sync(svc, athlete)
    assert out["rechecked"] == 1 and out["updated"] == 1
    assert _stored(svc, athlete)[90].elevation_loss_m == pytest.approx(65.0, rel=0.1)

    sim_clock.advance(48 * 3600)  # no longer fresh: no more streams requests
    out = strava_sync.sync(svc, athlete)
    assert out["requests"] == 1 and out["rechecked"] == 0


def test_incremental_sync_lists_from_the_newest_start_minus_the_overlap(svc, athlete, strava_server,
                                                                        sim_clock) -> None:
    now = sim_clock.now()
    add_history(strava_server, 3, start=now - timedelta(days=100), every=timedelta(days=1))
    strava_sync.backfill(svc, athlete)
    newest = svc.store.newest_start(athlete.id, "strava")
    strava_server.add_activity(summary_activity(95, athlete_id=ATHLETE_ID, start=now - timedelta(days=50)),
                               streams=hill_streams(40))
    out = strava_sync.sync(svc, athlete)
    assert out["new"] == 1
    (listing,) = strava_server.requests(r"/athlete/activities$")[-1:]
    expected = newest - timedelta(hours=svc.config.strava.overlap_hours)
    assert int(listing.query["after"]) == int(expected.timestamp()) - 1  # the cursor's second is re-read


def test_429_and_5xx_are_waited_out_and_retried(svc, athlete, strava_server, sim_clock) -> None:
    ids = list(add_history(strava_server, 6, start=sim_clock.now() - timedelta(days=10), every=timedelta(days=1)))
    strava_server.inject("429", 1, path=r"/athlete/activities$")
    strava_server.inject("503", 2, path=r"/streams$")
    strava_server.inject("500", 1, path=r"/athlete/activities$")
    out = strava_sync.sync(svc, athlete, wait=True)
    assert out["new"] == 6 and out["errors"] == 0
    assert len(strava_server.requests(status=429)) == 1 and len(strava_server.requests(status=503)) == 2
    stored = _stored(svc, athlete)
    assert {stored[i].elevation_source for i in ids[1:4]} == {ElevationSource.COMPUTED}  # the streams came through
    assert sim_clock.sleeps and max(sim_clock.sleeps) >= 60  # waited for the next window, in simulated time


def test_429_without_waiting_stops_with_resume_time_and_partial_counts(svc, athlete, strava_server,
                                                                       sim_clock) -> None:
    add_history(strava_server, 3, start=sim_clock.now() - timedelta(days=10), every=timedelta(days=1))
    strava_server.inject("429", 1, path=r"/streams$")
    with pytest.raises(RateLimitExhausted) as err:
        strava_sync.sync(svc, athlete, wait=False)
    assert err.value.resume_at > sim_clock.now() and "resume after" in str(err.value)
    assert err.value.counts["requests"] == 2  # the listing, then the refused streams request
    requests_before = len(strava_server.requests())
    with pytest.raises(RateLimitExhausted):  # the window is marked spent in the shared budget: no request sent
        strava_sync.sync(svc, athlete, wait=False)
    assert len(strava_server.requests()) == requests_before
    sim_clock.set(err.value.resume_at)  # after the reset: nothing was lost
    out = strava_sync.sync(svc, athlete, wait=False)
    assert len(svc.store.list_activities(athlete.id)) == 3 and out["errors"] == 0


def test_a_sync_that_fails_midway_does_not_read_the_fresh_streams_it_stored_again(svc, athlete, strava_server,
                                                                                   sim_clock) -> None:
    start = sim_clock.now() - timedelta(hours=6)
    for aid in (90, 91, 92):  # three fresh runs (an hour apart): their streams are re-read only every 12 h
        strava_server.add_activity(summary_activity(aid, athlete_id=ATHLETE_ID, start=start + timedelta(hours=aid - 90),
                                                    total_elevation_gain=40.0), streams=hill_streams(120, climb_m=40.0))
    # 91's and 92's streams fail with 500s (every retry): two activities in a row look like an outage, the sync stops
    strava_server.inject("500", 100, r"/activities/9[12]/streams$")
    with pytest.raises(LoadmonError):
        strava_sync.sync(svc, athlete)
    stored = _stored(svc, athlete)
    assert stored[90].elevation_source is ElevationSource.COMPUTED  # stored before the failure
    assert stored[91].elevation_source is ElevationSource.ESTIMATED  # the first 5xx costs the estimate, not the sync

    strava_server.faults.clear()
    before = len(strava_server.requests(r"/activities/90/streams$"))
    out = strava_sync.sync(svc, athlete)
    assert len(strava_server.requests(r"/activities/90/streams$")) == before  # read and stored: not read again
    assert len(strava_server.requests(r"/activities/91/streams$", status=200)) == 1  # the estimate is replaced
    stored = _stored(svc, athlete)
    assert all(stored[a].elevation_source is ElevationSource.COMPUTED for a in (90, 91, 92)), out
