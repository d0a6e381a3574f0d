"""A Store keeps an athlete's activity list while their activity revision (raised by database
triggers, migration 0012) stays the same: the kept list always equals a fresh read, whatever changed
the activities and from whichever Store (another process), and an unchanged athlete is read without
touching the activities table. On both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select, update

from loadmon.domain import ActivityRecord
from loadmon.storage import Store
from loadmon.storage.activity_store import KEPT_ACTIVITY_LISTS
from loadmon.storage.models import ActivityRow
from loadmon.storage.rows import to_activity

T0 = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


def _run(i: int, km: float = 10.0) -> ActivityRecord:
    return ActivityRecord(
        source="fit",
        source_id=1000 + i,
        sport="running",
        start_time=T0 + timedelta(days=i),
        distance_m=km * 1000,
        moving_time_s=km * 300,
        elevation_loss_m=50.0 + i,
        content_hash=f"h{i}",
    )


def _same_objects(one: list, two: list) -> bool:
    """The kept list hands out the records it keeps; a read from the database makes new ones."""
    return len(one) == len(two) and all(x is y for x, y in zip(one, two, strict=True))


def _fresh(store: Store, athlete_id: int, until: date | None = None) -> list:
    with store.session() as s:
        q = select(ActivityRow).where(ActivityRow.athlete_id == athlete_id, ActivityRow.deleted.is_(False))
        if until:
            q = q.where(ActivityRow.local_date <= until)
        return [to_activity(r) for r in s.scalars(q.order_by(ActivityRow.start_time, ActivityRow.id))]


def test_a_kept_list_equals_a_fresh_read_after_every_kind_of_change(store_url: str) -> None:
    web, other = Store.open(store_url), Store.open(store_url)  # two processes' stores on one database
    try:
        a = web.ensure_athlete("ann")
        b = web.ensure_athlete("bob")
        web.record_import(a.id, path="a.zip", content_hash="a", records=[_run(i) for i in range(5)], outcome="imported")
        web.record_import(b.id, path="b.zip", content_hash="b", records=[_run(i) for i in range(2)], outcome="imported")
        first = web.list_activities(a.id)
        assert first == _fresh(web, a.id) and len(first) == 5
        assert _same_objects(web.list_activities(a.id), first)  # kept: not read again
        first.pop()  # a caller's list is its own
        assert len(web.list_activities(a.id)) == 5

        ids = [x.id for x in _fresh(web, a.id)]
        changes = [
            lambda s: s.execute(update(ActivityRow).where(ActivityRow.id == ids[0]).values(excluded=True)),
            lambda s: s.execute(update(ActivityRow).where(ActivityRow.id == ids[1]).values(duplicate_of=ids[2])),
            lambda s: s.execute(update(ActivityRow).where(ActivityRow.id == ids[2]).values(elevation_loss_m=999.0)),
            lambda s: s.execute(update(ActivityRow).where(ActivityRow.id == ids[3]).values(deleted=True)),
            lambda s: s.execute(delete(ActivityRow).where(ActivityRow.id == ids[4])),
        ]
        kept = web.list_activities(a.id)
        for change in changes:  # each from the other store, as another process would
            with other.session() as s:
                change(s)
            now = web.list_activities(a.id)
            assert now == _fresh(web, a.id) and not _same_objects(now, kept)
            kept = now
        other.record_import(a.id, path="c.fit", content_hash="c", records=[_run(9, km=21.1)], outcome="imported")
        kept = web.list_activities(a.id)
        assert kept == _fresh(web, a.id) and kept[-1].distance_m == 21_100.0
        other.set_excluded(a.id, kept[-1].id, excluded=True, reason="treadmill")
        assert web.list_activities(a.id)[-1].excluded is True

        # one athlete's change leaves another's kept list alone, and the until day is part of the key
        bobs = web.list_activities(b.id)
        assert bobs == _fresh(web, b.id)
        other.record_import(a.id, path="d.fit", content_hash="d", records=[_run(10)], outcome="imported")
        assert _same_objects(web.list_activities(b.id), bobs)  # ann's import leaves bob's list kept
        day = T0.date() + timedelta(days=1)
        assert web.list_activities(a.id, until=day) == _fresh(web, a.id, until=day)
        assert web.list_activities(a.id) == _fresh(web, a.id)
    finally:
        web.close()
        other.close()


def test_only_so_many_lists_are_kept(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        a = store.ensure_athlete("ann")
        store.record_import(a.id, path="a.zip", content_hash="a", records=[_run(0)], outcome="imported")
        for i in range(KEPT_ACTIVITY_LISTS + 5):
            assert len(store.list_activities(a.id, until=T0.date() + timedelta(days=i))) == 1
        assert len(store._activity_lists) == KEPT_ACTIVITY_LISTS
    finally:
        store.close()
