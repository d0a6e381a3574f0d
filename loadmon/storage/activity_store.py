"""The Store's activities: file imports and their log, upserts, Strava pages, source hashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from loadmon.domain import Activity, ActivityRecord, ElevationSource, activity_local_date
from loadmon.errors import NotFoundError, StorageError
from loadmon.storage.core import StoreCore
from loadmon.storage.duplicates import completeness, record_beats_row, relink
from loadmon.storage.models import (
    ActivityProfileRow,
    ActivityRevisionRow,
    ActivityRow,
    AthleteRow,
    ImportLogRow,
    SyncStateRow,
)
from loadmon.storage.profiles import pack_profile, unpack_profile
from loadmon.storage.rows import ACTIVITY_COLUMNS, activity_of, activity_of_sqlite
from loadmon.storage.rows import to_activity as _to_activity

__all__ = ["ActivityStoreMixin", "ImportOutcome", "UpsertResult", "KEPT_ACTIVITY_LISTS"]

#: Activity lists kept per Store (an athlete and an ``until`` day each; the least recently read goes first).
KEPT_ACTIVITY_LISTS = 16


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportOutcome:
    outcome: str  # imported | duplicate | skipped | failed
    activity_ids: tuple[int, ...] = ()
    new_activities: int = 0
    replaced_activities: int = 0  # stored activities replaced by this better copy (same source id)


@dataclass(frozen=True, kw_only=True, slots=True)
class UpsertResult:
    activity_id: int | None  # None when the record was refused (``error``)
    created: bool
    changed: bool
    error: str | None = None  # why the database refused this one record (the others were stored)


_RECORD_FIELDS = (
    "sport", "sub_sport", "name", "start_time", "utc_offset_s", "distance_m", "moving_time_s", "elapsed_time_s",
    "elevation_gain_m", "elevation_loss_m", "steep_descent_m", "avg_hr", "max_hr", "perceived_exertion", "device", "external_id",
    "private", "content_hash", "truncated",
)


class ActivityStoreMixin(StoreCore):
    """Activities: file imports and their log, upserts, Strava pages, source hashes."""

    # -- activities ------------------------------------------------------------------------
    def import_seen(self, athlete_id: int, content_hash: str) -> bool:
        """True when a file with these bytes was already imported or skipped for the athlete."""
        with self.session() as s:
            return (s.scalar(
                select(func.count()).select_from(ImportLogRow).where(
                    ImportLogRow.athlete_id == athlete_id,
                    ImportLogRow.content_hash == content_hash,
                    ImportLogRow.outcome.in_(("imported", "skipped")),
                )
            ) or 0) > 0

    def record_import(self, athlete_id: int, *, path: str, content_hash: str | None, records: Sequence[ActivityRecord],
                      outcome: str, error: str | None = None) -> ImportOutcome:
        """Store one file's activities and its import-log row in ONE transaction.

        A file already imported (same content hash) is a duplicate; an activity already
        stored (same source id) is not stored again, unless this copy is better (a genuine file
        after a damaged copy of it: :func:`loadmon.storage.duplicates.record_beats_row`), which
        then replaces it. A concurrent import of the same file is a duplicate, not an error.
        """
        return self._retrying(f"importing {path}", lambda: self._record_import(
            athlete_id, path=path, content_hash=content_hash, records=records, outcome=outcome, error=error))

    def _record_import(self, athlete_id: int, *, path: str, content_hash: str | None, records: Sequence[ActivityRecord],
                       outcome: str, error: str | None) -> ImportOutcome:
        with self._activity_writes(athlete_id) as s:
            athlete = s.get(AthleteRow, athlete_id)
            if athlete is None:
                raise NotFoundError(f"no athlete with id {athlete_id}")
            if content_hash and outcome in ("imported", "skipped"):
                seen = s.scalar(select(func.count()).select_from(ImportLogRow).where(
                    ImportLogRow.athlete_id == athlete_id, ImportLogRow.content_hash == content_hash,
                    ImportLogRow.outcome.in_(("imported", "skipped"))))
                if seen:
                    outcome = "duplicate"
            ids: list[int] = []
            new = replaced = 0
            if outcome == "imported":
                for rec in records:
                    res = self._upsert(s, athlete, rec, update_existing=False)
                    if res.activity_id is not None:
                        ids.append(res.activity_id)
                    new += int(res.created)
                    replaced += int(res.changed and not res.created)
                if records and new == 0 and replaced == 0:
                    outcome = "duplicate"
            s.add(ImportLogRow(athlete_id=athlete_id, path=path, content_hash=content_hash, outcome=outcome,
                               error=error, activity_count=new))
            return ImportOutcome(outcome=outcome, activity_ids=tuple(ids), new_activities=new,
                                 replaced_activities=replaced)

    def upsert_activity(self, athlete_id: int, record: ActivityRecord) -> UpsertResult:
        """Insert or update (by source + source_id) one activity, e.g. from Strava."""
        def once() -> UpsertResult:
            with self._activity_writes(athlete_id) as s:
                athlete = s.get(AthleteRow, athlete_id)
                if athlete is None:
                    raise NotFoundError(f"no athlete with id {athlete_id}")
                return self._upsert(s, athlete, record, update_existing=True)
        return self._retrying(f"activity {record.source}:{record.source_id}", once)

    def _upsert(self, s: Session, athlete: AthleteRow, rec: ActivityRecord, *, update_existing: bool) -> UpsertResult:
        if rec.start_time.tzinfo is None:
            raise StorageError(f"activity {rec.source}:{rec.source_id} has a naive start time")
        row = s.scalar(select(ActivityRow).where(
            ActivityRow.athlete_id == athlete.id, ActivityRow.source == rec.source, ActivityRow.source_id == rec.source_id))
        values = {f: getattr(rec, f) for f in _RECORD_FIELDS}
        values["elevation_source"] = ElevationSource(rec.elevation_source).value
        values["local_date"] = activity_local_date(rec.start_time, rec.utc_offset_s, athlete.timezone)
        values["quality"] = completeness(rec)
        if row is not None:
            if not update_existing and (row.deleted or not record_beats_row(rec, row)):
                return UpsertResult(activity_id=row.id, created=False, changed=False)
            changed = row.deleted or any(getattr(row, k) != v for k, v in values.items())
            if changed:
                for k, v in values.items():
                    setattr(row, k, v)
                row.deleted = False
                relink(s, row)
            _put_profile(s, row.id, rec, replace=changed)
            return UpsertResult(activity_id=row.id, created=False, changed=changed)
        row = ActivityRow(athlete_id=athlete.id, source=rec.source, source_id=rec.source_id, **values)
        s.add(row)
        relink(s, row)
        s.flush()
        _put_profile(s, row.id, rec, replace=True)
        return UpsertResult(activity_id=row.id, created=True, changed=True)

    def list_activities(self, athlete_id: int, *, since: date | None = None, until: date | None = None,
                        include_deleted: bool = False) -> list[Activity]:
        """The athlete's activities ordered by start time: a column-only read (no ORM objects; on
        SQLite the driver's rows converted directly), as status reads 10 years of them per page view.

        The whole list up to ``until`` (no ``since``, not deleted: what status and the alert rules
        read) is kept per athlete while their activity revision stays the same (migration 0012: a
        trigger raises it on every change of their activities, from any process); the revision is
        read first, in the same transaction, so a kept list is never older than its revision."""
        keep = since is None and not include_deleted
        with self.session() as s:
            rev = None
            if keep:
                rev = s.execute(select(ActivityRevisionRow.rev).where(
                    ActivityRevisionRow.athlete_id == athlete_id)).scalar() or 0
                with self._activity_lists_lock:
                    kept = self._activity_lists.get((athlete_id, until))
                    if kept is not None and kept[0] == rev:
                        self._activity_lists.move_to_end((athlete_id, until))
                        return list(kept[1])
            if self.dialect == "sqlite":
                activities = self._list_activities_sqlite(s, athlete_id, since, until, include_deleted)
            else:
                cols = [getattr(ActivityRow, name) for name in ACTIVITY_COLUMNS]
                q = select(*cols).where(ActivityRow.athlete_id == athlete_id)
                if since:
                    q = q.where(ActivityRow.local_date >= since)
                if until:
                    q = q.where(ActivityRow.local_date <= until)
                if not include_deleted:
                    q = q.where(ActivityRow.deleted.is_(False))
                # through the connection: plain Core rows, without the ORM's loading layer
                rows = s.connection().execute(q.order_by(ActivityRow.start_time, ActivityRow.id)).all()
                activities = [activity_of(r) for r in rows]
        if rev is not None:
            with self._activity_lists_lock:
                self._activity_lists[(athlete_id, until)] = (rev, tuple(activities))
                while len(self._activity_lists) > KEPT_ACTIVITY_LISTS:
                    self._activity_lists.popitem(last=False)
        return activities

    def _list_activities_sqlite(self, s: Session, athlete_id: int, since: date | None, until: date | None,
                                include_deleted: bool) -> list[Activity]:
        """:meth:`list_activities` on SQLite: the same query as SQL text, converted by
        :func:`~loadmon.storage.rows.activity_of_sqlite` (a third of the time of SQLAlchemy's result
        processing; a test compares it with the ORM's records)."""
        sql = f"SELECT {', '.join(ACTIVITY_COLUMNS)} FROM activities WHERE athlete_id = ?"
        params: list[Any] = [athlete_id]
        if since:
            sql += " AND local_date >= ?"
            params.append(since.isoformat())
        if until:
            sql += " AND local_date <= ?"
            params.append(until.isoformat())
        if not include_deleted:
            sql += " AND deleted = 0"
        cursor = s.connection().connection.cursor()  # the driver's own cursor: plain tuples
        try:
            cursor.execute(sql + " ORDER BY start_time, id", params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [activity_of_sqlite(r) for r in rows]

    def list_activities_for(self, athlete_ids: Sequence[int], *, since: date | None = None,
                            until: date | None = None) -> dict[int, list[Activity]]:
        """The (not deleted) activities of several athletes in ONE query: athlete id -> activities
        ordered by start time (every requested id is a key, with [] when it has none).
        Reads plain columns (no ORM identity map): the club view loads whole clubs at once."""
        ids = sorted({int(i) for i in athlete_ids})
        out: dict[int, list[Activity]] = {i: [] for i in ids}
        if not ids:
            return out
        cols = [getattr(ActivityRow, name) for name in ACTIVITY_COLUMNS]
        with self.session() as s:
            q = select(*cols).where(ActivityRow.athlete_id.in_(ids), ActivityRow.deleted.is_(False))
            if since:
                q = q.where(ActivityRow.local_date >= since)
            if until:
                q = q.where(ActivityRow.local_date <= until)
            q = q.order_by(ActivityRow.athlete_id, ActivityRow.start_time, ActivityRow.id)
            for row in s.execute(q):
                activity = activity_of(row)
                out[activity.athlete_id].append(activity)
        return out

    def get_activity(self, activity_id: int) -> Activity:
        with self.session() as s:
            row = s.get(ActivityRow, activity_id)
            if row is None:
                raise NotFoundError(f"no activity with id {activity_id}")
            return _to_activity(row)

    def activities_page(self, athlete_id: int, *, offset: int, limit: int) -> tuple[list[Activity], int]:
        """``limit`` of the athlete's (not deleted) activities, newest first, after skipping the ``offset``
        newest; and how many there are in all."""
        with self.session() as s:
            where = (ActivityRow.athlete_id == athlete_id, ActivityRow.deleted.is_(False))
            total = s.scalar(select(func.count()).select_from(ActivityRow).where(*where)) or 0
            q = (select(ActivityRow).where(*where).order_by(ActivityRow.start_time.desc(), ActivityRow.id.desc())
                 .offset(offset).limit(limit))
            return [_to_activity(r) for r in s.scalars(q)], int(total)

    def first_counted_date(self, athlete_id: int, sports: Sequence[str]) -> date | None:
        """The local day of the athlete's first activity of ``sports`` that counts in the load (not
        deleted, excluded nor a duplicate copy); None without one."""
        with self.session() as s:
            return s.scalar(select(func.min(ActivityRow.local_date)).where(
                ActivityRow.athlete_id == athlete_id, ActivityRow.deleted.is_(False),
                ActivityRow.excluded.is_(False), ActivityRow.duplicate_of.is_(None),
                ActivityRow.sport.in_(list(sports))))

    def activity_profile(self, athlete_id: int, activity_id: int) -> tuple[tuple[float, float], ...] | None:
        """The athlete's activity's elevation profile, (distance m, altitude m) points in distance
        order; ``None`` when none was stored; ``NotFoundError`` for another athlete's activity."""
        with self.session() as s:
            owner = s.scalar(select(ActivityRow.athlete_id).where(ActivityRow.id == activity_id))
            if owner is None or owner != athlete_id:
                raise NotFoundError(f"no activity with id {activity_id}")
            return unpack_profile(s.scalar(select(ActivityProfileRow.points).where(
                ActivityProfileRow.activity_id == activity_id)))

    def newest_start(self, athlete_id: int, source: str) -> datetime | None:
        with self.session() as s:
            return s.scalar(select(func.max(ActivityRow.start_time)).where(
                ActivityRow.athlete_id == athlete_id, ActivityRow.source == source))

    def source_ids_between(self, athlete_id: int, source: str, start: datetime, end: datetime) -> set[int]:
        with self.session() as s:
            return set(s.scalars(select(ActivityRow.source_id).where(
                ActivityRow.athlete_id == athlete_id, ActivityRow.source == source, ActivityRow.deleted.is_(False),
                ActivityRow.start_time >= start, ActivityRow.start_time < end)))

    def mark_deleted(self, athlete_id: int, source: str, source_ids: Sequence[int]) -> int:
        """Mark activities deleted at their source; they drop out of the load. Returns how many."""
        if not source_ids:
            return 0
        with self.session() as s:
            rows = s.scalars(select(ActivityRow).where(
                ActivityRow.athlete_id == athlete_id, ActivityRow.source == source,
                ActivityRow.source_id.in_(list(source_ids)), ActivityRow.deleted.is_(False))).all()
            for row in rows:
                row.deleted = True
                relink(s, row)  # a record that was the primary of a run's copies hands the role on
            return len(rows)

    def delete_source_activities(self, athlete_id: int, source: str) -> int:
        """Delete (really: no row is kept) every activity of ``athlete_id`` from ``source``; a
        copy of one of them from another source takes its place in the load. Returns how many."""
        with self._activity_writes(athlete_id) as s:
            ids = list(s.scalars(select(ActivityRow.id).where(
                ActivityRow.athlete_id == athlete_id, ActivityRow.source == source)))
            if not ids:
                return 0
            copies = s.scalars(select(ActivityRow).where(
                ActivityRow.duplicate_of.in_(ids), ActivityRow.source != source)).all()
            for copy in copies:
                copy.duplicate_of = None
            s.flush()
            s.execute(delete(ActivityRow).where(ActivityRow.id.in_(ids)))
            for copy in copies:
                relink(s, copy)  # the copies of one run find their primary among themselves
            return len(ids)

    def import_log(self, athlete_id: int | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        with self.session() as s:
            q = select(ImportLogRow).order_by(ImportLogRow.id.desc()).limit(limit)
            if athlete_id is not None:
                q = q.where(ImportLogRow.athlete_id == athlete_id)
            return [{"id": r.id, "path": r.path, "content_hash": r.content_hash, "outcome": r.outcome, "error": r.error,
                     "activity_count": r.activity_count, "created_at": r.created_at} for r in s.scalars(q)]

    # -- Strava sync: pages, hashes, the shared request budget (added with the Strava service) --
    def record_strava_page(self, athlete_id: int, records: Sequence[ActivityRecord], state_key: str | None,
                           state_value: dict[str, Any] | None, *,
                           more_state: dict[str, dict[str, Any]] | None = None) -> list[UpsertResult]:
        """Upsert ``records`` and set the sync state ``state_key`` in ONE transaction.

        The Strava backfill stores each page's activities together with its cursor, so a
        process killed between two calls never loses an activity nor advances past one.
        ``state_key=None`` stores the records only. ``more_state``: further state keys set in
        the same transaction (the sync's record of which fresh activities it has re-read).
        A record the database refuses comes back with ``error`` set and the rest of the page
        (and the cursor) is stored all the same (see :meth:`_upsert_alone`).
        """
        states = dict(more_state or {})
        if state_key is not None and state_value is not None:
            states[state_key] = state_value

        def once() -> list[UpsertResult]:
            with self._activity_writes(athlete_id) as s:
                athlete = s.get(AthleteRow, athlete_id)
                if athlete is None:
                    raise NotFoundError(f"no athlete with id {athlete_id}")
                results = [self._upsert_alone(s, athlete, rec) for rec in records]
                for key, value in states.items():
                    row = s.get(SyncStateRow, (athlete_id, key))
                    if row is None:
                        s.add(SyncStateRow(athlete_id=athlete_id, key=key, value=value))
                    else:
                        row.value = value
                return results
        return self._retrying(f"Strava page of athlete {athlete_id}", once)

    def _upsert_alone(self, s: Session, athlete: AthleteRow, rec: ActivityRecord) -> UpsertResult:
        """Upsert one record so that a value the database refuses fails this record alone
        (``error``), never the page around it: a start time whose date arithmetic overflows is
        refused before any write; on PostgreSQL each record has its own SAVEPOINT (a DataError:
        NUL in text, a value longer than its column). SQLite takes such text, and a SAVEPOINT there
        would hold a read snapshot that fails ("database is locked") against a concurrent writer."""
        try:
            for days in (-2, 2):
                rec.start_time + timedelta(days=days)
            activity_local_date(rec.start_time, rec.utc_offset_s, athlete.timezone)
        except (OverflowError, ValueError) as exc:
            return UpsertResult(activity_id=None, created=False, changed=False,
                                error=f"start time {rec.start_time.isoformat()} out of range ({type(exc).__name__})")
        if self.dialect != "postgresql":
            return self._upsert(s, athlete, rec, update_existing=True)
        try:
            with s.begin_nested():
                return self._upsert(s, athlete, rec, update_existing=True)
        except (IntegrityError, OperationalError):
            raise  # a race or a lost connection: the whole page is retried
        except (SQLAlchemyError, OverflowError, ValueError) as exc:
            detail = getattr(exc, "orig", None) or exc
            reason = f"{type(exc).__name__}: {str(detail).strip().splitlines()[0][:200] if str(detail).strip() else ''}"
            return UpsertResult(activity_id=None, created=False, changed=False, error=reason)

    def record_strava_descent(self, athlete_id: int, updates: Sequence[tuple[int, ActivityRecord]], state_key: str,
                              state_value: dict[str, Any]) -> int:
        """Replace the descent of stored Strava activities (``(source_id, record)``: the record's
        elevation loss, source, steep part and profile; nothing else of the row changes) and set
        the sync state ``state_key``, in ONE transaction (the streams fill). Returns the rows changed."""
        def once() -> int:
            changed = 0
            with self._activity_writes(athlete_id) as s:
                for source_id, rec in updates:
                    row = s.scalar(select(ActivityRow).where(
                        ActivityRow.athlete_id == athlete_id, ActivityRow.source == "strava",
                        ActivityRow.source_id == source_id, ActivityRow.deleted.is_(False)))
                    if row is None:
                        continue
                    row.elevation_loss_m = rec.elevation_loss_m
                    row.elevation_source = ElevationSource(rec.elevation_source).value
                    row.steep_descent_m = rec.steep_descent_m
                    relink(s, row)
                    _put_profile(s, row.id, rec, replace=True)
                    changed += 1
                row_state = s.get(SyncStateRow, (athlete_id, state_key))
                if row_state is None:
                    s.add(SyncStateRow(athlete_id=athlete_id, key=state_key, value=state_value))
                else:
                    row_state.value = state_value
            return changed
        return self._retrying(f"Strava descents of athlete {athlete_id}", once)

    def source_hashes(self, athlete_id: int, source: str, *, since: datetime | None = None) -> dict[int, str]:
        """``source_id -> content_hash`` of the athlete's stored (not deleted) activities of ``source``."""
        with self.session() as s:
            q = select(ActivityRow.source_id, ActivityRow.content_hash).where(
                ActivityRow.athlete_id == athlete_id, ActivityRow.source == source, ActivityRow.deleted.is_(False))
            if since is not None:
                q = q.where(ActivityRow.start_time >= since)
            return {int(sid): h for sid, h in s.execute(q)}


def _put_profile(s: Session, activity_id: int, rec: ActivityRecord, *, replace: bool) -> None:
    """Store ``rec``'s elevation profile for the activity: always when ``replace`` (the record
    replaced the row: its profile, or none, goes with it), else only where none is stored yet."""
    packed = pack_profile(rec.profile)
    if packed is None and not replace:
        return
    row = s.get(ActivityProfileRow, activity_id)
    if row is None:
        if packed is not None:
            s.add(ActivityProfileRow(activity_id=activity_id, points=packed))
    elif replace:
        if packed is None:
            s.delete(row)
        else:
            row.points = packed
