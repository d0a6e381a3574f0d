"""Poison pills on a Strava page (issue 11 item 1): each bad activity between good ones is
skipped with a named error, the good ones are stored, the cursor moves past it and the next
run neither fails nor stops at it (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from connectors.strava.mapping import record_from_activity
from loadmon.service import strava_sync
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import summary_activity

BAD_ID = 555
# kind -> (fields of the bad activity, stored after sanitising?)
POISON = {
    "start_9999": ({"start_date": "9999-12-31T23:59:59Z"}, False),
    "nul_in_name": ({"name": "Morning\x00Run\x1b[31m"}, True),
    "name_over_500": ({"name": "N" * 5000}, True),
    "sport_type_over_64": ({"sport_type": "S" * 300}, False),
}


def _stored(svc, athlete):
    return {a.source_id: a for a in svc.store.list_activities(athlete.id, include_deleted=True)}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(POISON))
def test_a_poison_item_between_good_ones_is_skipped_and_the_next_runs_go_on(kind, svc, athlete, strava_server,
                                                                           sim_clock) -> None:
    fields, kept = POISON[kind]
    t0 = sim_clock.now() - timedelta(days=20)
    good = [100, 101, 102, 103]
    for i, aid in enumerate(good):
        strava_server.add_activity(summary_activity(aid, athlete_id=ATHLETE_ID, start=t0 + timedelta(days=2 * i)))
    bad = summary_activity(BAD_ID, athlete_id=ATHLETE_ID, start=t0 + timedelta(days=3))  # between 101 and 102
    bad.update(fields)
    strava_server.add_activity(bad)  # listed where Strava would list it (9999: last)

    out = strava_sync.backfill(svc, athlete, alerts=False)
    stored = _stored(svc, athlete)
    assert set(good) <= set(stored) and out["done"]
    if kept:  # sanitised at the mapping boundary: no control characters, cut to the column size
        name = stored[BAD_ID].name
        assert name and len(name) <= 500 and all(ch.isprintable() for ch in name)
        assert out["errors"] == 0
    else:
        assert BAD_ID not in stored
        (skip,) = out["skipped"]
        assert skip["activity_id"] == BAD_ID and skip["reason"] and str(BAD_ID) in skip["error"]
        assert out["errors"] == 1 and str(BAD_ID) in out["error_messages"][0]
    cursor = datetime.fromisoformat(out["cursor"])
    assert cursor < sim_clock.now() + timedelta(days=3)  # moved past it, not to year 9999

    later = 104
    strava_server.add_activity(summary_activity(later, athlete_id=ATHLETE_ID, start=sim_clock.now() - timedelta(days=1)))
    again = strava_sync.sync(svc, athlete, alerts=False)  # the next run: no traceback, not stuck on the bad item
    assert later in _stored(svc, athlete) and again["new"] == 1
    assert again["errors"] == (0 if kept else 1)  # within the sync window it is named again, never fatal


def test_a_record_the_database_refuses_fails_alone(store, tmp_path) -> None:
    """The storage backstop: one record the database cannot take (a date out of range on both
    backends, a NUL on PostgreSQL) leaves the page's other records and its cursor stored."""
    athlete = store.ensure_athlete("ada")
    start = datetime(2025, 3, 1, 8, tzinfo=UTC)
    recs = [record_from_activity(summary_activity(i, athlete_id=ATHLETE_ID, start=start + timedelta(hours=i)))
            for i in (1, 2, 3, 4)]
    recs[1] = replace(recs[1], start_time=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    if store.dialect == "postgresql":
        recs[2] = replace(recs[2], name="nul\x00here")
    results = store.record_strava_page(athlete.id, recs, "strava_backfill", {"cursor": "c1"})
    refused = [r for r in results if r.error]
    assert {i for i, r in enumerate(results) if r.error} == ({1, 2} if store.dialect == "postgresql" else {1})
    assert all(r.activity_id is None and not r.created for r in refused)
    stored = {a.source_id for a in store.list_activities(athlete.id)}
    assert stored == {r.source_id for i, r in enumerate(recs) if not results[i].error}
    assert store.get_state(athlete.id, "strava_backfill") == {"cursor": "c1"}
