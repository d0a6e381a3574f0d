"""Must-show: a backfill of 1,000 activities within a small request budget, each stored once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from loadmon.service import strava_sync
from tests.strava_service.helpers import add_history, streamed

EPOCH = datetime(2019, 1, 1, tzinfo=UTC)


@pytest.mark.slow
def test_backfill_of_1000_activities_stays_within_the_budget_and_stores_each_once(svc, athlete, strava_server,
                                                                                   sim_clock) -> None:
    history = add_history(strava_server, 1000, start=EPOCH)
    assert strava_server.limits.read_15min == 100
    started = sim_clock.now()
    reports = []
    out = strava_sync.backfill(svc, athlete, progress=reports.append, alerts=False)

    stored = svc.store.list_activities(athlete.id, include_deleted=True)
    ids = [a.source_id for a in stored]
    assert len(ids) == len(set(ids)) == 1000 and set(ids) == set(history)  # every activity exactly once
    assert out["done"] and out["new"] == 1000 and out["errors"] == 0

    stats = strava_server.stats()
    assert stats["max_read_per_window"] <= 100 and stats["rejected_429"] == 0  # never over the budget
    listing = strava_server.requests(r"/athlete/activities$")
    streams = strava_server.requests(r"/streams$")
    foot = sum(1 for act in history.values() if streamed(act))
    assert max(Counter(r.path for r in streams).values()) == 1  # no activity streamed twice
    assert len(streams) <= foot
    api = strava_server.requests()
    assert out["requests"] == len(api) <= len(listing) + foot

    windows = [w for w, c in stats["windows"].items() if c["read"]]
    last = datetime.fromisoformat(api[-1].at)
    minutes = (last - started).total_seconds() / 60
    assert reports and reports[-1].listed == 1000
    assert any(r.waiting_until is not None for r in reports) and any(r.eta_s for r in reports)
    print(f"\nbackfill 1000 activities ({foot} streamed): {len(api)} requests ({len(listing)} pages + "
          f"{len(streams)} streams), {len(windows)} windows, max {stats['max_read_per_window']} reads/window, "
          f"{minutes:.0f} simulated min, {1000 / minutes:.1f} activities/min; budget waits {out['waits']}")
