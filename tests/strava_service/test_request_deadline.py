"""A Strava answer that trickles (issue 11 item 8): each read gets a byte in time, so only the
whole-request deadline (``strava.request_deadline_s``) ends it; the request is retried and
the sync completes instead of hanging for the length of the trickle."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from loadmon.service import Service, strava_sync
from tests.strava_service.conftest import connect, strava_config
from tests.strava_service.helpers import add_history


@pytest.mark.slow
def test_a_trickling_listing_is_cut_at_the_deadline_and_retried(tmp_path, store, store_url, strava_server,
                                                                sim_clock) -> None:
    svc = Service(config=strava_config(tmp_path, store_url, strava_server.url, request_deadline_s=1.0), store=store,
                  clock=sim_clock.now, sleep=sim_clock.sleep)
    athlete = connect(svc, strava_server)
    ids = add_history(strava_server, 3, start=sim_clock.now() - timedelta(days=5), every=timedelta(days=1))
    strava_server.trickle_s = 20.0  # the body one byte at a time over 20 s; reads never time out
    strava_server.inject("trickle", 1, path=r"/athlete/activities$")

    out = strava_sync.sync(svc, athlete, alerts=False)

    assert out["new"] == 3 and {a.source_id for a in svc.store.list_activities(athlete.id)} == set(ids)
    listings = strava_server.requests(r"/athlete/activities$")
    assert len(listings) >= 2  # the trickled one, then the retry
    end = time.monotonic() + 10
    while strava_server.trickles_cut < 1 and time.monotonic() < end:
        time.sleep(0.05)
    assert strava_server.trickles_cut == 1  # loadmon hung up before the trickle was over
