"""Backfill: paused by the budget, stopped by the daemon, --since; each resumes without refetching."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from loadmon.service import strava_sync
from tests.strava_server import hill_streams, summary_activity
from tests.strava_service.conftest import connect
from tests.strava_service.helpers import add_history, streamed

EPOCH = datetime(2019, 1, 1, tzinfo=UTC)


@pytest.mark.slow
def test_a_backfill_paused_by_the_budget_resumes_without_refetching(svc, athlete, strava_server, sim_clock) -> None:
    history = add_history(strava_server, 300, start=EPOCH)
    runs = [strava_sync.backfill(svc, athlete, wait=False, alerts=False)]
    while not runs[-1]["done"]:
        out = runs[-1]
        assert out["resume_at"] and out["message"].startswith("Strava request budget spent: resume after ")
        assert svc.store.get_state(athlete.id, strava_sync.BACKFILL_KEY)["resume_at"] == out["resume_at"]
        sim_clock.set(datetime.fromisoformat(out["resume_at"]))  # the daemon (or the user) runs it again then
        runs.append(strava_sync.backfill(svc, athlete, wait=False, alerts=False))
        assert len(runs) < 20

    assert len(runs) >= 3  # 240 streams at 98 per window
    assert all(r["waits"] == 0 for r in runs)  # never slept: stopped instead
    ids = [a.source_id for a in svc.store.list_activities(athlete.id)]
    assert len(ids) == len(set(ids)) == 300 and set(ids) == set(history)
    assert sum(r["new"] for r in runs) == 300
    streams = Counter(r.path for r in strava_server.requests(r"/streams$"))
    assert max(streams.values()) == 1 and len(streams) == sum(1 for a in history.values() if streamed(a))
    assert strava_server.stats()["max_read_per_window"] <= 98 and strava_server.stats()["rejected_429"] == 0
    # each pause re-lists the page it stopped in (one request): nothing else is read twice
    listing = strava_server.requests(r"/athlete/activities$")
    assert len(listing) <= 2 + (len(runs) - 1)
    state = strava_sync.status(svc, athlete)["backfill"]
    assert state["done"] and state["listed"] >= 300


@pytest.mark.slow
def test_the_stop_flag_ends_a_backfill_between_pages(lite_svc, lite_athlete, strava_server, sim_clock) -> None:
    svc, athlete = lite_svc, lite_athlete
    add_history(strava_server, 250, start=EPOCH)
    stop = svc.stop

    def on_progress(p: strava_sync.BackfillProgress) -> None:
        if p.pages == 1:
            stop.set()  # SIGTERM to the daemon during page 1

    first = strava_sync.backfill(svc, athlete, progress=on_progress, alerts=False)
    assert first["stopped"] and not first["done"] and first["pages"] == 1 and first["new"] == 200
    stop.clear()
    second = strava_sync.backfill(svc, athlete, alerts=False)
    assert second["done"] and second["new"] == 50 and second["unchanged"] == 1  # the cursor's second, re-read
    assert len(svc.store.list_activities(athlete.id)) == 250


@pytest.mark.slow
def test_since_starts_at_that_day_and_a_later_run_continues(lite_svc, lite_athlete, strava_server, sim_clock) -> None:
    svc, athlete = lite_svc, lite_athlete
    history = add_history(strava_server, 100, start=EPOCH)
    out = strava_sync.backfill(svc, athlete, since=date(2019, 2, 1), alerts=False)
    starts = [a.start_time for a in svc.store.list_activities(athlete.id)]
    assert out["done"] and min(starts) >= datetime(2019, 2, 1, tzinfo=UTC)
    assert len(starts) == sum(1 for a in history.values() if a["start_date"] >= "2019-02-01")
    assert strava_server.requests(r"/athlete/activities$")[0].query["after"] == str(int(datetime(2019, 2, 1, tzinfo=UTC).timestamp()) - 1)
    again = strava_sync.backfill(svc, athlete, alerts=False)  # same since: continues from the cursor
    assert again["new"] == 0 and again["requests"] == 1


@pytest.mark.slow
def test_progress_reports_an_eta_that_counts_the_budget_windows(lite_svc, lite_athlete, strava_server,
                                                                sim_clock) -> None:
    svc, athlete = lite_svc, lite_athlete
    every = timedelta(hours=20)
    add_history(strava_server, 450, start=sim_clock.now() - 451 * every, every=every)  # up to yesterday
    reports: list[strava_sync.BackfillProgress] = []
    strava_sync.backfill(svc, athlete, progress=reports.append, alerts=False)
    first_page = next(r for r in reports if r.pages == 1 and r.waiting_until is None)
    # after page 1: 200 of ~450 activities listed, ~250 left at ~0.8 streams each: 2 more 15-min windows at least
    assert first_page.estimated_total is not None and 400 <= first_page.estimated_total <= 500
    assert first_page.eta_s is not None and 2 * 900 <= first_page.eta_s <= 4 * 900
    waits = [r.waiting_until for r in reports if r.waiting_until is not None]
    assert waits and all(w.minute % 15 == 0 and w.second == 1 for w in waits)  # the next window, + 1 s grace
    assert reports[-1].fraction == 1.0 and reports[-1].listed == 450 and reports[-1].eta_s == 0


@pytest.mark.slow
def test_sync_continues_an_unfinished_backfill_and_leaves_room_for_other_syncs(lite_svc, lite_athlete, strava_server,
                                                                               sim_clock) -> None:
    svc, athlete = lite_svc, lite_athlete
    add_history(strava_server, 300, start=EPOCH)
    bob = connect(svc, strava_server, athlete=svc.add_athlete("bob"), strava_athlete_id=502)
    first = strava_sync.backfill(svc, athlete, wait=False, alerts=False)
    assert not first["done"]
    sim_clock.set(datetime.fromisoformat(first["resume_at"]))  # a new window: the daemon's sync runs

    out = strava_sync.sync(svc, athlete)
    window = strava_server.state.window_key()
    assert out["backfill"]["new"] > 0 and out["backfill"]["resume_at"]  # continued, then paused
    assert strava_server.stats()["windows"][window]["read"] <= 100 - 20  # a fifth of the window left

    strava_server.add_activity(summary_activity(5_000_000_001, athlete_id=502, start=sim_clock.now() - timedelta(hours=3)),
                               streams=hill_streams(40))
    assert strava_sync.sync(svc, bob)["new"] == 1  # bob's sync still fits in the same window

    while not out.get("backfill", {}).get("done"):
        sim_clock.set(datetime.fromisoformat(out["backfill"]["resume_at"]))
        out = strava_sync.sync(svc, athlete)
    assert len(svc.store.list_activities(athlete.id)) == 300
