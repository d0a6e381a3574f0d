"""Fewer Strava requests (issue 15 part 3): no streams for a run a FIT file covers; the backfill reads the
streams of the last 42 days and point-to-point runs first, the older loops keep their gain as an estimated
descent until the fill job reads them from spare budget - and the fill never runs when the budget is short."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.service import Service
from loadmon.service.strava.backfill import backfill
from loadmon.service.strava.fill import DUE_KEY, fill
from loadmon.service.strava.sync import sync
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import hill_streams, summary_activity
from tests.strava_service.conftest import connect, strava_config

FIRST = 7_000_000_000


@pytest.fixture
def dsvc(tmp_path, store, store_url, strava_server, sim_clock) -> Service:
    """The Service with the deferral on (the default configuration)."""
    return Service(
        config=strava_config(tmp_path, store_url, strava_server.url, defer_streams=True),
        store=store,
        clock=sim_clock.now,
        sleep=sim_clock.sleep,
    )


def _history(server, now, *, days: int = 200, p2p_days=(150,)) -> dict[int, int]:
    """One run a day for ``days`` days up to yesterday: ``id -> days ago``; ``p2p_days``: point-to-point."""
    out = {}
    for ago in range(days, 0, -1):
        aid = FIRST + ago
        extra = {"end_latlng": [45.2, 5.9]} if ago in p2p_days else {}
        act = summary_activity(
            aid, athlete_id=ATHLETE_ID, start=now - timedelta(days=ago), distance_m=8_000.0 + ago, total_elevation_gain=60.0, **extra
        )
        server.add_activity(act, streams=hill_streams(60, climb_m=60.0))
        out[aid] = ago
    return out


def _fit_copy(aid: int, start, distance_m: float) -> ActivityRecord:
    return ActivityRecord(
        source="fit",
        source_id=aid + 1,
        sport="running",
        start_time=start + timedelta(seconds=5),
        distance_m=distance_m,
        moving_time_s=3_000.0,
        elevation_gain_m=61.0,
        elevation_loss_m=58.0,
        elevation_source=ElevationSource.DEVICE,
        content_hash=f"fit{aid}",
        extra={"has_serial": True},
    )


def _streamed(server) -> set[int]:
    return {int(r.path.split("/")[-2]) for r in server.requests(r"/streams$")}


def _by_id(svc, athlete):
    return {a.source_id: a for a in svc.store.list_activities(athlete.id) if a.source == "strava"}


def test_a_run_a_fit_file_covers_gets_no_streams_request(dsvc, strava_server, sim_clock) -> None:
    athlete = connect(dsvc, strava_server)
    now = sim_clock.now()
    ids = _history(strava_server, now, days=10, p2p_days=())
    covered = [aid for aid, ago in ids.items() if ago % 2 == 0]
    for aid in covered:
        dsvc.store.upsert_activity(athlete.id, _fit_copy(aid, now - timedelta(days=ids[aid]), 8_000.0 + ids[aid]))
    out = backfill(dsvc, athlete, alerts=False)
    assert out.done
    assert _streamed(strava_server) == set(ids) - set(covered)  # one request per run without a file, none for the rest
    assert out.counts.requests == 1 + len(ids) - len(covered)
    stored = _by_id(dsvc, athlete)
    assert all(stored[a].duplicate_of is not None for a in covered)  # the file's copy counts
    # the FIT arrives later for a run whose streams are still due: the fill drops it without a request
    assert not dsvc.store.get_state(athlete.id, DUE_KEY)


@pytest.mark.slow
def test_backfill_reads_recent_and_point_to_point_first_then_the_fill_the_older_loops(dsvc, strava_server, sim_clock) -> None:
    athlete = connect(dsvc, strava_server)
    now = sim_clock.now()
    ids = _history(strava_server, now, days=200, p2p_days=(150,))
    late_fit = FIRST + 120  # an older loop whose FIT file arrives after the backfill
    out = backfill(dsvc, athlete, alerts=False)
    assert out.done and out.counts.requests == 2 + 42 + 1  # two pages, the last 42 days' runs, one point-to-point
    stored = _by_id(dsvc, athlete)
    recent = {a for a, ago in ids.items() if ago <= 42}
    assert _streamed(strava_server) == recent | {FIRST + 150}
    for aid, ago in ids.items():
        want = ElevationSource.COMPUTED if aid in recent or aid == FIRST + 150 else ElevationSource.ESTIMATED
        assert stored[aid].elevation_source is want, (aid, ago)
    old = stored[FIRST + 100]
    assert old.elevation_loss_m == old.elevation_gain_m == 60.0  # the summary's gain stands in

    dsvc.store.upsert_activity(athlete.id, _fit_copy(late_fit, now - timedelta(days=120), 8_120.0))
    filled = fill(dsvc, athlete, alerts=False)  # spare budget: the rest of the window, down to the reserve
    assert filled.covered == 1 and filled.requests > 0
    while filled.left:
        sim_clock.set(filled.resume_at or sim_clock.now())
        filled = fill(dsvc, athlete, alerts=False)
    stored = _by_id(dsvc, athlete)
    assert all(stored[a].elevation_source is ElevationSource.COMPUTED for a in ids if a != late_fit)
    assert late_fit not in _streamed(strava_server)
    assert len(strava_server.requests(r"/streams$")) == len(ids) - 1  # each streamed once, the covered one never
    assert strava_server.stats()["rejected_429"] == 0


@pytest.mark.slow
def test_the_fill_never_runs_when_the_budget_is_short(dsvc, strava_server, sim_clock) -> None:
    athlete = connect(dsvc, strava_server)
    now = sim_clock.now()
    _history(strava_server, now, days=80, p2p_days=())
    backfill(dsvc, athlete, alerts=False)
    before = len(strava_server.requests())
    budget = dsvc.store.budget_store()
    window = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    budget.raise_to(f"read:900:{window.strftime('%Y-%m-%dT%H:%M:%SZ')}", 85)  # 15 left: less than a sync's fifth
    short = fill(dsvc, athlete, alerts=False)
    assert short.requests == 0 and short.resume_at is not None and short.left > 0
    assert len(strava_server.requests()) == before
    # a sync still gets its requests from the same window
    sim_clock.advance(60)
    assert sync(dsvc, athlete, alerts=False).counts.requests >= 1
