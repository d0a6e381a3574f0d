"""``Store.delete_source_activities``: an athlete's activities of one source really go (Strava's
API Agreement on disconnection); other sources and athletes stay, a copy takes the run's place,
an alert of a deleted activity stays without its link. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.storage import Store

T0 = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


def rec(source: str, source_id: int, start: datetime, *, elevation=ElevationSource.DEVICE) -> ActivityRecord:
    return ActivityRecord(
        source=source,
        source_id=source_id,
        sport="running",
        start_time=start,
        distance_m=10_000.0,
        moving_time_s=3000.0,
        elapsed_time_s=3100.0,
        elevation_gain_m=100.0,
        elevation_loss_m=95.0,
        elevation_source=elevation,
        avg_hr=150,
        max_hr=175,
        content_hash=f"{source}{source_id}",
    )


def test_delete_source_activities_keeps_other_sources_and_relinks_copies(store: Store) -> None:
    ann, bob = store.ensure_athlete("ann"), store.ensure_athlete("bob")
    store.upsert_activity(ann.id, rec("strava", 1, T0 + timedelta(seconds=20), elevation=ElevationSource.COMPUTED))
    store.upsert_activity(ann.id, rec("fit", 2, T0, elevation=ElevationSource.NONE))
    store.upsert_activity(ann.id, rec("fit", 3, T0 - timedelta(days=2)))
    store.upsert_activity(ann.id, rec("strava", 4, T0 - timedelta(days=1)))
    store.upsert_activity(bob.id, rec("strava", 1, T0))
    by_source = {(a.source, a.source_id): a for a in store.list_activities(ann.id)}
    assert by_source[("fit", 2)].duplicate_of == by_source[("strava", 1)].id
    alert_id = store.add_alert(
        ann.id,
        rule="spike",
        severity="warning",
        local_date=T0.date(),
        activity_id=by_source[("strava", 4)].id,
        dedupe_key="k",
        message="m",
        payload={},
        notified=False,
        channels=[],
        now=T0,
    )
    assert alert_id is not None

    assert store.delete_source_activities(ann.id, "strava") == 2
    kept = store.list_activities(ann.id, include_deleted=True)
    assert sorted((a.source, a.source_id, a.duplicate_of) for a in kept) == [("fit", 2, None), ("fit", 3, None)]
    assert [a.source for a in store.list_activities(bob.id)] == ["strava"]
    assert [(a["id"], a["activity_id"]) for a in store.list_alerts(ann.id)] == [(alert_id, None)]
    assert store.delete_source_activities(ann.id, "strava") == 0
