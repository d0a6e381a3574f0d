"""Storage tests: the same suite runs on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.storage import Store
from loadmon.storage.migrate import head_revision

T0 = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


def rec(**kw) -> ActivityRecord:
    base = dict(source="fit", source_id=1, sport="running", start_time=T0, distance_m=10_000.0, moving_time_s=3000.0,
                elapsed_time_s=3100.0, elevation_gain_m=100.0, elevation_loss_m=95.0,
                elevation_source=ElevationSource.DEVICE, avg_hr=150, max_hr=175, content_hash="h1")
    base.update(kw)
    return ActivityRecord(**base)


def test_schema_is_at_head_on_both_backends(store: Store) -> None:
    assert store.schema_revision() == head_revision()


def test_migrations_downgrade_and_upgrade(store: Store) -> None:
    store.ensure_athlete("x")
    from loadmon.storage import migrate

    migrate.downgrade(store.engine, "base")
    assert store.schema_revision() is None
    store.upgrade()
    assert store.schema_revision() == head_revision()
    assert store.list_athletes() == []


def test_athlete_and_timezone_change_recomputes_local_dates(store: Store) -> None:
    a = store.ensure_athlete("runner")
    assert store.ensure_athlete("runner").id == a.id
    late = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # 23:30 in London (BST), 10:30 next day in Auckland
    store.record_import(a.id, path="f.fit", content_hash="x", records=[rec(start_time=late)], outcome="imported")
    assert store.list_activities(a.id)[0].local_date == date(2026, 6, 1)
    store.update_athlete(a.id, timezone="Pacific/Auckland", hr_rest=50, hr_max=190, sex="female")
    assert store.list_activities(a.id)[0].local_date == date(2026, 6, 2)
    b = store.get_athlete("runner")
    assert (b.timezone, b.hr_rest, b.hr_max, str(b.sex)) == ("Pacific/Auckland", 50, 190, "female")


def test_record_import_is_idempotent_and_keeps_64_bit_ids(store: Store) -> None:
    a = store.ensure_athlete("runner")
    big = 2**62 + 12345
    out = store.record_import(a.id, path="a.fit", content_hash="abc", records=[rec(source_id=big)], outcome="imported")
    assert out.outcome == "imported" and out.new_activities == 1
    again = store.record_import(a.id, path="a-copy.fit", content_hash="abc", records=[rec(source_id=big)], outcome="imported")
    assert again.outcome == "duplicate" and again.new_activities == 0
    assert store.import_seen(a.id, "abc")
    acts = store.list_activities(a.id)
    assert len(acts) == 1 and acts[0].source_id == big
    assert acts[0].start_time == T0 and acts[0].start_time.tzinfo is not None
    assert [r["outcome"] for r in store.import_log(a.id)] == ["duplicate", "imported"]


def test_failed_import_leaves_no_activity(store: Store) -> None:
    a = store.ensure_athlete("runner")
    store.record_import(a.id, path="bad.fit", content_hash=None, records=(), outcome="failed", error="bad CRC")
    assert store.list_activities(a.id) == []
    assert store.import_log(a.id)[0]["error"] == "bad CRC"


def test_a_naive_datetime_is_refused(store: Store) -> None:
    a = store.ensure_athlete("runner")
    with pytest.raises(Exception, match="naive"):
        store.upsert_activity(a.id, rec(start_time=datetime(2026, 1, 1, 8, 0)))
    assert store.list_activities(a.id) == []


def test_upsert_updates_edits_and_undeletes(store: Store) -> None:
    a = store.ensure_athlete("runner")
    r1 = store.upsert_activity(a.id, rec(source="strava", source_id=99, elevation_source=ElevationSource.COMPUTED))
    assert r1.created
    same = store.upsert_activity(a.id, rec(source="strava", source_id=99, elevation_source=ElevationSource.COMPUTED))
    assert not same.created and not same.changed
    edited = store.upsert_activity(a.id, rec(source="strava", source_id=99, sport="walking", distance_m=9000.0,
                                              elevation_source=ElevationSource.COMPUTED))
    assert edited.changed
    assert store.get_activity(r1.activity_id).sport == "walking"
    assert store.mark_deleted(a.id, "strava", [99]) == 1
    assert store.list_activities(a.id) == []
    assert len(store.list_activities(a.id, include_deleted=True)) == 1


def test_same_run_from_fit_and_strava_is_one_activity(store: Store) -> None:
    a = store.ensure_athlete("runner")
    strava = store.upsert_activity(a.id, rec(source="strava", source_id=5, start_time=T0 + timedelta(seconds=20),
                                             distance_m=10_150.0, elevation_loss_m=80.0,
                                             elevation_source=ElevationSource.COMPUTED, content_hash="s"))
    out = store.record_import(a.id, path="run.fit", content_hash="f", records=[rec()], outcome="imported")
    acts = {x.id: x for x in store.list_activities(a.id)}
    fit_id = out.activity_ids[0]
    assert acts[strava.activity_id].duplicate_of == fit_id  # the device's descent wins
    assert acts[fit_id].duplicate_of is None
    # a run 5 % longer at the same time is a different activity
    other = store.upsert_activity(a.id, rec(source="strava", source_id=6, distance_m=10_600.0, content_hash="o"))
    assert store.get_activity(other.activity_id).duplicate_of is None


def test_external_id_names_the_fit_file(store: Store) -> None:
    a = store.ensure_athlete("runner")
    out = store.record_import(a.id, path="x/2026-03-01-07-00-00.fit", content_hash="f",
                              records=[rec(external_id="2026-03-01-07-00-00.fit")], outcome="imported")
    s = store.upsert_activity(a.id, rec(source="strava", source_id=7, start_time=T0 + timedelta(minutes=5),
                                        distance_m=12_000.0, external_id="2026-03-01-07-00-00.fit",
                                        elevation_source=ElevationSource.COMPUTED, content_hash="s7"))
    assert store.get_activity(s.activity_id).duplicate_of == out.activity_ids[0]


def test_symptoms(store: Store) -> None:
    a = store.ensure_athlete("runner")
    s = store.add_symptom(a.id, site="knee", side="right", location="lateral", severity=4, started_at=T0, note=None)
    store.resolve_symptom(a.id, s.id, T0 + timedelta(days=3))
    (got,) = store.list_symptoms(a.id)
    assert got.resolved_at == T0 + timedelta(days=3) and got.severity == 4


def test_alert_dedupe_and_outbox_lease(store: Store) -> None:
    a = store.ensure_athlete("runner")
    kw = dict(rule="weekly_ramp", severity="warning", local_date=date(2026, 3, 1), activity_id=None,
              message="m", payload={"x": 1}, channels=["email", "push"], now=T0)
    aid = store.add_alert(a.id, dedupe_key="k1", notified=True, **kw)
    assert aid is not None
    assert store.add_alert(a.id, dedupe_key="k1", notified=True, **kw) is None
    store.add_alert(a.id, dedupe_key="k2", notified=False, **kw)  # outside the notify window
    due = store.claim_due_deliveries(T0)
    assert sorted(d.channel for d in due) == ["email", "push"]
    assert store.claim_due_deliveries(T0) == []  # leased
    for d in due:
        store.finish_delivery(d.id, state="sent", attempts=1, now=T0)
    assert store.delivery_counts() == {"sent": 2, "suppressed": 2}
    alerts = store.list_alerts(a.id)
    assert [x["notified"] for x in alerts] == [True, False]


def test_strava_tokens_state_and_job_runs(store: Store) -> None:
    a = store.ensure_athlete("runner")
    store.save_strava_tokens(a.id, strava_athlete_id=2**40, access_token="A", refresh_token="R", expires_at=T0, scope="read")
    store.save_strava_tokens(a.id, strava_athlete_id=2**40, access_token="A2", refresh_token="R2", expires_at=T0, scope=None)
    conn = store.get_strava_connection(a.id)
    assert (conn.refresh_token, conn.scope, conn.strava_athlete_id) == ("R2", "read", 2**40)
    assert store.strava_connected_athletes() == [a.id]
    store.mark_strava_needs_reauth(a.id)
    assert store.strava_connected_athletes() == []
    store.set_state(a.id, "backfill", {"page": 3})
    store.set_state(a.id, "backfill", {"page": 4})
    assert store.get_state(a.id, "backfill") == {"page": 4}
    run = store.start_job_run("sync", athlete_id=a.id, started_at=T0)
    store.finish_job_run(run, outcome="error", finished_at=T0, error="boom")
    assert store.last_job_runs()["sync"]["last_error"] == "boom"


def test_sqlite_file_is_private(tmp_path) -> None:
    s = Store.open(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite'}")
    s.close()
    assert ((tmp_path / "sub" / "x.sqlite").stat().st_mode & 0o777) == 0o600


def test_unreachable_database_is_a_clear_error_without_password() -> None:
    from loadmon.errors import StorageError

    with pytest.raises(StorageError) as info:
        Store.open("postgresql://user:sekrit@127.0.0.1:1/none")
    assert "sekrit" not in str(info.value)


@pytest.mark.slow
def test_steep_descent_round_trips_and_the_0002_migration_keeps_older_rows(store: Store) -> None:
    from loadmon.storage import migrate

    a = store.ensure_athlete("runner")
    store.record_import(a.id, path="a.fit", content_hash="a", records=[rec(source_id=1, steep_descent_m=42.5)],
                        outcome="imported")
    assert store.list_activities(a.id)[0].steep_descent_m == 42.5

    migrate.downgrade(store.engine, "0001")  # a database from before the column
    assert store.schema_revision() == "0001"
    migrate.upgrade(store.engine)
    assert store.schema_revision() == head_revision()  # 0002 and every later migration (0003_outbox_lease...)
    (kept,) = store.list_activities(a.id)
    assert kept.distance_m == 10_000.0 and kept.steep_descent_m is None  # not measured, not 0
    store.upsert_activity(a.id, rec(source_id=1, steep_descent_m=40.0))  # a re-sync measures it
    assert store.list_activities(a.id)[0].steep_descent_m == 40.0
