"""The column-only activities read (on SQLite: the driver's rows converted directly) gives exactly the
records the ORM gives, on both backends, for every kind of value (None, booleans, microseconds)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.storage import Store
from loadmon.storage.models import ActivityRow
from loadmon.storage.rows import to_activity

T0 = datetime(2026, 3, 1, 23, 59, 58, 123456, tzinfo=UTC)


def _records() -> list[ActivityRecord]:
    out = [
        ActivityRecord(
            source="fit",
            source_id=2**62 + 7,
            sport="running",
            sub_sport="trail",
            start_time=T0,
            distance_m=10_000.5,
            moving_time_s=3000.25,
            elapsed_time_s=3100.0,
            elevation_gain_m=100.0,
            elevation_loss_m=95.5,
            elevation_source=ElevationSource.DEVICE,
            steep_descent_m=12.25,
            avg_hr=150,
            max_hr=175,
            perceived_exertion=6.5,
            device="watch",
            name="Long run",
            external_id="a.fit",
            private=True,
            content_hash="h1",
        ),
        ActivityRecord(
            source="strava",
            source_id=99,
            sport="cycling",
            start_time=T0 + timedelta(days=1),
            private=False,
            content_hash="h2",
            truncated=True,
        ),
        ActivityRecord(
            source="fit", source_id=3, sport="running", start_time=T0 + timedelta(days=2, hours=1), distance_m=5000.0, content_hash="h3"
        ),
    ]
    return out


def test_the_column_read_equals_the_orm_records(store: Store) -> None:
    a = store.ensure_athlete("runner", timezone_name="Europe/London")
    other = store.ensure_athlete("other")
    store.record_import(a.id, path="f.zip", content_hash="z", records=_records(), outcome="imported")
    store.record_import(other.id, path="g.zip", content_hash="g", records=_records()[:1], outcome="imported")
    with store.session() as s:  # an excluded one, a deleted one, a duplicate link
        ids = [r.id for r in s.scalars(select(ActivityRow).where(ActivityRow.athlete_id == a.id).order_by(ActivityRow.id))]
        s.execute(update(ActivityRow).where(ActivityRow.id == ids[0]).values(excluded=True, excluded_reason="treadmill"))
        s.execute(update(ActivityRow).where(ActivityRow.id == ids[1]).values(deleted=True))
        s.execute(update(ActivityRow).where(ActivityRow.id == ids[2]).values(duplicate_of=ids[0]))

    def orm(**where):
        with store.session() as s:
            q = select(ActivityRow).where(ActivityRow.athlete_id == a.id).order_by(ActivityRow.start_time, ActivityRow.id)
            for value in where.values():
                q = q.where(value)
            return [to_activity(r) for r in s.scalars(q)]

    everything = store.list_activities(a.id, include_deleted=True)
    assert everything == orm() and len(everything) == 3
    assert [type(x.start_time.tzinfo) for x in everything] == [type(UTC)] * 3
    assert everything[0].start_time == T0 and everything[0].private is True and everything[1].private is False
    assert everything[1].truncated is True and everything[0].excluded is True and everything[1].deleted is True
    assert store.list_activities(a.id) == orm(live=ActivityRow.deleted.is_(False)) == [everything[0], everything[2]]
    day = date(2026, 3, 2)  # T0 is 23:59 on 1 March in London (UTC+0 in March)
    assert [x.local_date for x in everything] == [date(2026, 3, 1), day, date(2026, 3, 4)]
    assert store.list_activities(a.id, since=day, include_deleted=True) == everything[1:]
    assert store.list_activities(a.id, until=day, include_deleted=True) == everything[:2]
    assert store.list_activities(a.id, since=day, until=day) == []
    assert store.list_activities_for([a.id, other.id])[a.id] == store.list_activities(a.id)
