"""The Store: typed reads and writes over SQLAlchemy, returning loadmon.domain records.

Every public method is one transaction. SQLAlchemy and driver errors are translated into
:class:`loadmon.errors.StorageError` (the URL's password is never part of a message).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, delete, event, func, or_, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from loadmon.domain import Activity, ActivityRecord, AlertSeverity, Athlete, ElevationSource, Sex, Symptom, local_date_of
from loadmon.errors import NotFoundError, StorageError
from loadmon.storage import corrections, migrate
from loadmon.storage.duplicates import DUPLICATE_DISTANCE_FRACTION, DUPLICATE_START_S, completeness, record_beats_row, relink
from loadmon.storage.models import (
    ActivityRow,
    AlertRow,
    AthleteRow,
    DeliveryRow,
    ImportLogRow,
    JobRunRow,
    StravaConnectionRow,
    SymptomRow,
    SyncStateRow,
)
from loadmon.storage.records import AlertState, DeliveryClaim, SentAlert
from loadmon.storage.rows import rowcount
from loadmon.storage.rows import to_activity as _to_activity
from loadmon.storage.rows import to_athlete as _to_athlete
from loadmon.storage.rows import to_symptom as _to_symptom

if TYPE_CHECKING:
    from loadmon.storage.budget import SqlBudgetStore

__all__ = ["DUPLICATE_START_S", "DUPLICATE_DISTANCE_FRACTION", "ImportOutcome", "Store", "UpsertResult"]

#: A write that lost a race to a concurrent writer (a unique key stored meanwhile) is re-run
#: this many times; the re-run sees the other writer's row (the same activity: a duplicate).
CONFLICT_RETRIES = 3
#: PostgreSQL transaction-level advisory lock namespace for the writes of one athlete's
#: activities (so two processes storing copies of one run see each other's rows).
_PG_ACTIVITY_LOCK = 0x6C6D6163  # "lmac"


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


@dataclass(frozen=True, kw_only=True, slots=True)
class StravaConnection:
    """An athlete's stored Strava grant (the tokens are left out of ``repr``: never in logs)."""

    athlete_id: int
    strava_athlete_id: int
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str | None
    needs_reauth: bool


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


_ACTIVITY_COLUMNS = (
    "id", "athlete_id", "source", "source_id", "sport", "sub_sport", "start_time", "local_date", "distance_m",
    "moving_time_s", "elapsed_time_s", "elevation_gain_m", "elevation_loss_m", "elevation_source", "avg_hr", "max_hr",
    "perceived_exertion", "device", "name", "external_id", "deleted", "duplicate_of", "private", "steep_descent_m",
    "excluded", "excluded_reason", "truncated",
)

_RECORD_FIELDS = (
    "sport", "sub_sport", "name", "start_time", "utc_offset_s", "distance_m", "moving_time_s", "elapsed_time_s",
    "elevation_gain_m", "elevation_loss_m", "steep_descent_m", "avg_hr", "max_hr", "perceived_exertion", "device", "external_id",
    "private", "content_hash", "truncated",
)


class Store:
    """Database access. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True, echo: bool = False, busy_timeout_s: float = 30.0) -> Store:
        """Connect; create and upgrade the schema to head when ``migrate_schema``.

        A SQLite file is created with mode 0600 (it holds Strava tokens) in a 0700 folder. On
        SQLite a writer waits up to ``busy_timeout_s`` for another process's write to finish,
        and every transaction takes the write lock when it starts (``BEGIN IMMEDIATE``), so a
        transaction that reads, then writes, never fails on a lock another process took after
        its read; on PostgreSQL ``busy_timeout_s`` is the lock timeout of each statement.
        """
        try:
            parsed = make_url(url)
        except Exception:
            raise StorageError(f"database URL is not valid: {_safe_url(url)}", reason="invalid_url") from None
        # hide_parameters: with echo (and in error messages) the SQL is shown without its values,
        # which include the Strava tokens
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:":
                path = Path(db)
                if not migrate_schema and not path.exists():  # a reader (daemon status) never creates the file
                    raise StorageError(f"no database at {path} yet (loadmon creates it on first use)", reason="schema")
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not path.exists():
                    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                    os.close(fd)
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            kwargs["connect_args"] = {"timeout": busy_timeout_s}
        elif parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"options": f"-c lock_timeout={int(busy_timeout_s * 1000)}"}
        try:
            engine = create_engine(parsed, **kwargs)
        except Exception as exc:
            raise StorageError(f"cannot use database {_safe_url(url)}: {type(exc).__name__}", reason="invalid_url") from None
        if engine.dialect.name == "sqlite":
            busy_ms = int(busy_timeout_s * 1000)

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout={busy_ms}")  # first: the pragmas below may wait for a lock
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes, fsync at checkpoints
                cur.close()
        store = cls(engine)
        if migrate_schema:
            store.upgrade()
        else:
            store.check_schema()
        return store

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self, revision: str = "head") -> None:
        """Upgrade the schema; processes that start at once on a new database take turns
        (:func:`loadmon.storage.migrate.upgrade`)."""
        self.check_reachable()
        if revision == "head" and migrate.at_head(self.engine):  # the usual case: no alembic at start-up
            return
        try:
            migrate.upgrade(self.engine, revision)
        except SQLAlchemyError as exc:
            raise storage_error(exc, f"cannot upgrade the schema of {_safe_url(str(self.engine.url))}",
                                default="schema") from None

    def check_reachable(self) -> None:
        """Connect once: a failure here is ``unreachable`` (and only here)."""
        try:
            with self.engine.connect():
                pass
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot reach database {_safe_url(str(self.engine.url))}: {getattr(exc, 'orig', exc)}",
                               reason="unreachable") from None

    def schema_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def check_schema(self) -> None:
        self.check_reachable()
        current, head = self.schema_revision(), migrate.head_revision()
        if current != head:
            raise StorageError(f"database schema is at {current or 'nothing'}, loadmon needs {head}: run `loadmon db upgrade`",
                               reason="schema")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; errors become StorageError (an IntegrityError is passed on for the
        caller that expects one, e.g. a concurrent insert of the same key).

        On SQLite the transaction takes the write lock first (``BEGIN IMMEDIATE``), waiting
        up to the busy timeout for another writer, so its reads are never stale when it writes.
        """
        s = self._session()
        try:
            with s.begin():
                if self.dialect == "sqlite":
                    _begin_immediate(s)
                yield s
        except (StorageError, NotFoundError):
            raise
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise storage_error(exc, "database error") from exc
        finally:
            s.close()

    @contextmanager
    def _activity_writes(self, athlete_id: int) -> Iterator[Session]:
        """A write transaction for one athlete's activities; on PostgreSQL writers of the same
        athlete take turns, so each sees the copies of a run the other stored."""
        with self.session() as s:
            if self.dialect == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"),
                          {"ns": _PG_ACTIVITY_LOCK, "k": int(athlete_id) & 0x7FFFFFFF})
            yield s

    def _retrying(self, what: str, fn: Any) -> Any:
        """Run ``fn()`` (one transaction) again when a concurrent writer stored the same unique
        key first: the re-run sees that row."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                return fn()
            except IntegrityError as exc:
                if attempt == CONFLICT_RETRIES - 1:
                    raise StorageError(f"{what}: a concurrent writer kept storing the same data: "
                                       f"{type(getattr(exc, 'orig', exc)).__name__}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- athletes --------------------------------------------------------------------------
    def ensure_athlete(self, name: str, *, timezone_name: str = "UTC") -> Athlete:
        """The athlete ``name``, created when missing (two processes creating it at once get
        the same athlete: the unique name decides, the loser reads the winner's row)."""
        def once() -> Athlete:
            with self.session() as s:
                row = s.scalar(select(AthleteRow).where(AthleteRow.name == name))
                if row is None:
                    row = AthleteRow(name=name, timezone=timezone_name)
                    s.add(row)
                    s.flush()
                return _to_athlete(row)
        return self._retrying(f"athlete {name!r}", once)

    def get_athlete(self, name: str | None = None, *, athlete_id: int | None = None) -> Athlete:
        with self.session() as s:
            q = select(AthleteRow)
            q = q.where(AthleteRow.id == athlete_id) if athlete_id is not None else q.where(AthleteRow.name == name)
            row = s.scalar(q)
            if row is None:
                raise NotFoundError(f"no athlete {name if athlete_id is None else athlete_id!r}")
            return _to_athlete(row)

    def list_athletes(self) -> list[Athlete]:
        with self.session() as s:
            return [_to_athlete(r) for r in s.scalars(select(AthleteRow).order_by(AthleteRow.name))]

    def update_athlete(self, athlete_id: int, **changes: Any) -> Athlete:
        """Change settings; a new time zone recomputes every activity's local date."""
        with self.session() as s:
            row = s.get(AthleteRow, athlete_id)
            if row is None:
                raise NotFoundError(f"no athlete with id {athlete_id}")
            for key, value in changes.items():
                if key == "sex" and value is not None:
                    value = Sex(value).value
                setattr(row, key, value)
            if "timezone" in changes:
                for act in s.scalars(select(ActivityRow).where(ActivityRow.athlete_id == athlete_id)):
                    act.local_date = local_date_of(act.start_time, row.timezone)
            s.flush()
            return _to_athlete(row)

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
        values["local_date"] = local_date_of(rec.start_time, athlete.timezone)
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
            return UpsertResult(activity_id=row.id, created=False, changed=changed)
        row = ActivityRow(athlete_id=athlete.id, source=rec.source, source_id=rec.source_id, **values)
        s.add(row)
        relink(s, row)
        return UpsertResult(activity_id=row.id, created=True, changed=True)

    def list_activities(self, athlete_id: int, *, since: date | None = None, until: date | None = None,
                        include_deleted: bool = False) -> list[Activity]:
        with self.session() as s:
            q = select(ActivityRow).where(ActivityRow.athlete_id == athlete_id)
            if since:
                q = q.where(ActivityRow.local_date >= since)
            if until:
                q = q.where(ActivityRow.local_date <= until)
            if not include_deleted:
                q = q.where(ActivityRow.deleted.is_(False))
            return [_to_activity(r) for r in s.scalars(q.order_by(ActivityRow.start_time, ActivityRow.id))]

    def list_activities_for(self, athlete_ids: Sequence[int], *, since: date | None = None,
                            until: date | None = None) -> dict[int, list[Activity]]:
        """The (not deleted) activities of several athletes in ONE query: athlete id -> activities
        ordered by start time (every requested id is a key, with [] when it has none).
        Reads plain columns (no ORM identity map): the club view loads whole clubs at once."""
        ids = sorted({int(i) for i in athlete_ids})
        out: dict[int, list[Activity]] = {i: [] for i in ids}
        if not ids:
            return out
        cols = [getattr(ActivityRow, name) for name in _ACTIVITY_COLUMNS]
        with self.session() as s:
            q = select(*cols).where(ActivityRow.athlete_id.in_(ids), ActivityRow.deleted.is_(False))
            if since:
                q = q.where(ActivityRow.local_date >= since)
            if until:
                q = q.where(ActivityRow.local_date <= until)
            q = q.order_by(ActivityRow.athlete_id, ActivityRow.start_time, ActivityRow.id)
            for row in s.execute(q):
                values = dict(zip(_ACTIVITY_COLUMNS, row))
                values["elevation_source"] = ElevationSource(values["elevation_source"])
                out[values["athlete_id"]].append(Activity(**values))
        return out

    def list_symptoms_for(self, athlete_ids: Sequence[int]) -> dict[int, list[Symptom]]:
        """The symptoms of several athletes in one query (athlete id -> symptoms by start)."""
        ids = sorted({int(i) for i in athlete_ids})
        out: dict[int, list[Symptom]] = {i: [] for i in ids}
        if not ids:
            return out
        with self.session() as s:
            for r in s.scalars(select(SymptomRow).where(SymptomRow.athlete_id.in_(ids))
                               .order_by(SymptomRow.athlete_id, SymptomRow.started_at, SymptomRow.id)):
                out[r.athlete_id].append(_to_symptom(r))
        return out

    def alert_summary_for(self, athlete_ids: Sequence[int], *, since: date,
                          until: date | None = None) -> dict[int, dict[str, Any]]:
        """Per athlete, in two queries: ``last`` (the latest alert up to ``until``: id, rule,
        severity, local_date; None without alerts) and ``recent`` (the alerts with a local day
        in ``since``..``until``, oldest first: id, rule, severity, local_date)."""
        ids = sorted({int(i) for i in athlete_ids})
        out: dict[int, dict[str, Any]] = {i: {"last": None, "recent": []} for i in ids}
        if not ids:
            return out
        with self.session() as s:
            rank = func.row_number().over(partition_by=AlertRow.athlete_id,
                                          order_by=(AlertRow.local_date.desc(), AlertRow.id.desc())).label("rank")
            inner = select(AlertRow.athlete_id, AlertRow.id, AlertRow.rule, AlertRow.severity, AlertRow.local_date,
                           rank).where(AlertRow.athlete_id.in_(ids))
            if until is not None:
                inner = inner.where(AlertRow.local_date <= until)
            sub = inner.subquery()
            for aid, alert_id, rule, severity, day in s.execute(
                    select(sub.c.athlete_id, sub.c.id, sub.c.rule, sub.c.severity, sub.c.local_date).where(sub.c.rank == 1)):
                out[aid]["last"] = {"id": alert_id, "rule": rule, "severity": severity, "local_date": day}
            q = (select(AlertRow.athlete_id, AlertRow.id, AlertRow.rule, AlertRow.severity, AlertRow.local_date)
                 .where(AlertRow.athlete_id.in_(ids), AlertRow.local_date >= since)
                 .order_by(AlertRow.athlete_id, AlertRow.local_date, AlertRow.id))
            if until is not None:
                q = q.where(AlertRow.local_date <= until)
            for aid, alert_id, rule, severity, day in s.execute(q):
                out[aid]["recent"].append({"id": alert_id, "rule": rule, "severity": severity, "local_date": day})
        return out

    def get_activity(self, activity_id: int) -> Activity:
        with self.session() as s:
            row = s.get(ActivityRow, activity_id)
            if row is None:
                raise NotFoundError(f"no activity with id {activity_id}")
            return _to_activity(row)

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

    def import_log(self, athlete_id: int | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        with self.session() as s:
            q = select(ImportLogRow).order_by(ImportLogRow.id.desc()).limit(limit)
            if athlete_id is not None:
                q = q.where(ImportLogRow.athlete_id == athlete_id)
            return [{"id": r.id, "path": r.path, "content_hash": r.content_hash, "outcome": r.outcome, "error": r.error,
                     "activity_count": r.activity_count, "created_at": r.created_at} for r in s.scalars(q)]

    # -- symptoms --------------------------------------------------------------------------
    def add_symptom(self, athlete_id: int, *, site: str, side: str, location: str | None, severity: int,
                    started_at: datetime, note: str | None) -> Symptom:
        with self.session() as s:
            row = SymptomRow(athlete_id=athlete_id, site=site, side=side, location=location, severity=severity,
                             started_at=started_at, note=note)
            s.add(row)
            s.flush()
            return _to_symptom(row)

    def list_symptoms(self, athlete_id: int) -> list[Symptom]:
        with self.session() as s:
            return [_to_symptom(r) for r in s.scalars(
                select(SymptomRow).where(SymptomRow.athlete_id == athlete_id).order_by(SymptomRow.started_at, SymptomRow.id))]

    def resolve_symptom(self, athlete_id: int, symptom_id: int, resolved_at: datetime) -> Symptom:
        with self.session() as s:
            row = s.get(SymptomRow, symptom_id)
            if row is None or row.athlete_id != athlete_id:
                raise NotFoundError(f"no symptom with id {symptom_id} for this athlete")
            row.resolved_at = resolved_at
            s.flush()
            return _to_symptom(row)

    # -- alerts and the outbox ---------------------------------------------------------------
    def add_alert(self, athlete_id: int, *, rule: str, severity: str, local_date: date, activity_id: int | None,
                  dedupe_key: str, message: str, payload: dict[str, Any], notified: bool,
                  channels: Sequence[str], now: datetime, suppressed_reason: str | None = None) -> int | None:
        """Store one alert and its outbox rows (see :meth:`add_alerts`); its id, or None when the
        dedupe key already exists."""
        return self.add_alerts(athlete_id, [{
            "rule": rule, "severity": severity, "local_date": local_date, "activity_id": activity_id,
            "dedupe_key": dedupe_key, "message": message, "payload": payload, "notified": notified,
            "suppressed_reason": suppressed_reason}], channels=channels, now=now)[0]

    def add_alerts(self, athlete_id: int, alerts: Sequence[dict[str, Any]], *, channels: Sequence[str],
                   now: datetime) -> list[int | None]:
        """Store the alerts of one evaluation for one athlete and their outbox rows, in one
        transaction; returns each one's new id, or None when its dedupe key already exists (also
        when a concurrent writer stored it first).

        Each alert: ``rule``, ``severity``, ``local_date``, ``activity_id``, ``dedupe_key``,
        ``message``, ``payload``, ``notified`` and ``suppressed_reason``. Not ``notified``: its rows
        are ``suppressed`` with the reason as their note. The ``notified`` ones go out as ONE
        message per channel: the first of them (the caller puts the most severe first) gets a
        ``pending`` row, due now, that carries the others, whose rows are ``bundled`` with
        ``bundle_id`` = that row. Each row's idempotency key is
        :func:`loadmon.domain.make_idempotency_key` (its own dedupe key, channel).
        """
        from loadmon.domain import DeliveryState, make_idempotency_key

        for _attempt in range(3):  # a concurrent writer's keys: the next attempt skips them
            try:
                with self.session() as s:
                    keys = [a["dedupe_key"] for a in alerts]
                    known = set(s.scalars(select(AlertRow.dedupe_key).where(AlertRow.dedupe_key.in_(keys))))
                    ids: list[int | None] = []
                    carriers: dict[str, int] = {}
                    for a in alerts:
                        if a["dedupe_key"] in known:
                            ids.append(None)
                            continue
                        known.add(a["dedupe_key"])
                        row = AlertRow(athlete_id=athlete_id, rule=a["rule"], severity=a["severity"],
                                       local_date=a["local_date"], activity_id=a["activity_id"],
                                       dedupe_key=a["dedupe_key"], message=a["message"], payload=a["payload"],
                                       notified=a["notified"], created_at=now)
                        s.add(row)
                        s.flush()
                        ids.append(row.id)
                        for ch in channels:
                            d = DeliveryRow(alert_id=row.id, channel=ch, attempts=0,
                                            idempotency_key=make_idempotency_key(a["dedupe_key"], ch))
                            if not a["notified"]:
                                d.state, d.last_error = DeliveryState.SUPPRESSED.value, a.get("suppressed_reason")
                            elif ch in carriers:
                                d.state, d.bundle_id = DeliveryState.BUNDLED.value, carriers[ch]
                            else:
                                d.state, d.next_attempt_at = DeliveryState.PENDING.value, now
                            s.add(d)
                            if d.state == DeliveryState.PENDING.value:
                                s.flush()
                                carriers[ch] = d.id
                    return ids
            except IntegrityError:
                continue
        return [None] * len(alerts)  # not stored: the next evaluation finds them again

    def release_orphaned_bundles(self, now: datetime) -> int:
        """Bundled rows whose carrying row is gone (its alert deleted) become ``pending``, due
        ``now``, each its own message: an alert is never dropped with another one. Returns how many."""
        with self.session() as s:
            carriers = select(DeliveryRow.id)
            result = s.execute(update(DeliveryRow)
                               .where(DeliveryRow.state == "bundled", DeliveryRow.bundle_id.not_in(carriers))
                               .values(state="pending", bundle_id=None, next_attempt_at=now, claimed_until=None)
                               .execution_options(synchronize_session=False))
            return rowcount(result)

    def bundle_payloads(self, delivery_id: int) -> list[dict[str, Any]]:
        """The stored alerts (payloads) that the delivery row ``delivery_id`` carries besides its own."""
        with self.session() as s:
            return list(s.scalars(select(AlertRow.payload).join(DeliveryRow, DeliveryRow.alert_id == AlertRow.id)
                                  .where(DeliveryRow.bundle_id == delivery_id).order_by(DeliveryRow.id)))

    def alert_keys(self, athlete_id: int) -> set[str]:
        """The dedupe keys of every stored alert of the athlete (to skip known alerts cheaply)."""
        with self.session() as s:
            return set(s.scalars(select(AlertRow.dedupe_key).where(AlertRow.athlete_id == athlete_id)))

    def notified_alerts_between(self, athlete_id: int, rule: str, first: date, last: date) -> list[SentAlert]:
        """Alerts of ``rule`` that were due to be sent (``notified``) on local days first..last;
        a withdrawn one only when it reached the runner (a delivery sent, or no outbox row)."""
        with self.session() as s:
            rows = s.execute(select(AlertRow.id, AlertRow.severity, AlertRow.local_date).where(
                AlertRow.athlete_id == athlete_id, AlertRow.rule == rule, AlertRow.notified.is_(True),
                _reached_runner(), AlertRow.local_date >= first, AlertRow.local_date <= last).order_by(AlertRow.local_date, AlertRow.id))
            return [SentAlert(id=i, severity=AlertSeverity(sev), local_date=d) for i, sev, d in rows]

    def last_alert_time(self, athlete_id: int, rule: str) -> datetime | None:
        with self.session() as s:
            return s.scalar(select(func.max(AlertRow.created_at)).where(
                AlertRow.athlete_id == athlete_id, AlertRow.rule == rule, AlertRow.notified.is_(True),
                _reached_runner()))

    # -- the user's corrections (loadmon.storage.corrections) ----------------------------------
    def set_excluded(self, athlete_id: int, activity_id: int, *, excluded: bool, reason: str | None = None) -> Activity:
        return corrections.set_excluded(self, athlete_id, activity_id, excluded=excluded, reason=reason)

    def update_symptom(self, athlete_id: int, symptom_id: int, **changes: Any) -> Symptom:
        return corrections.update_symptom(self, athlete_id, symptom_id, changes)

    def delete_symptom(self, athlete_id: int, symptom_id: int) -> Symptom:
        return corrections.delete_symptom(self, athlete_id, symptom_id)

    def alert_states(self, athlete_id: int) -> dict[str, AlertState]:
        return corrections.alert_states(self, athlete_id)

    def withdraw_alerts(self, alert_ids: Sequence[int], *, now: datetime, reason: str) -> int:
        return corrections.withdraw_alerts(self, list(alert_ids), now=now, reason=reason)

    def reinstate_alert(self, alert_id: int, *, now: datetime, send: bool, note: str | None = None,
                        content: dict[str, Any] | None = None) -> None:
        corrections.reinstate_alert(self, alert_id, now=now, send=send, note=note, content=content)

    def list_alerts(self, athlete_id: int | None = None, *, limit: int | None = None, since: date | None = None,
                    alert_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Alerts with their deliveries, oldest first; ``limit`` keeps the newest ``limit``."""
        with self.session() as s:
            q = select(AlertRow).order_by(AlertRow.local_date, AlertRow.id)
            if athlete_id is not None:
                q = q.where(AlertRow.athlete_id == athlete_id)
            if since is not None:
                q = q.where(AlertRow.local_date >= since)
            if alert_ids is not None:
                q = q.where(AlertRow.id.in_(list(alert_ids)))
            rows = s.scalars(q).all()
            if limit is not None:
                rows = rows[-limit:] if limit > 0 else []
            ids = [r.id for r in rows]
            deliveries: dict[int, list[dict[str, Any]]] = {}
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                rows_d = s.scalars(select(DeliveryRow).where(DeliveryRow.alert_id.in_(chunk)).order_by(DeliveryRow.id)).all()
                # a bundled row's state is the state of the row whose message carries it
                carrier_ids = {d.bundle_id for d in rows_d if d.bundle_id is not None}
                carriers = {c.id: c for c in s.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(carrier_ids)))}
                for d in rows_d:
                    c = carriers.get(d.bundle_id, d) if d.bundle_id is not None else d
                    deliveries.setdefault(d.alert_id, []).append({
                        "channel": d.channel, "state": c.state, "attempts": c.attempts, "last_error": c.last_error,
                        "sent_at": c.sent_at, "next_attempt_at": c.next_attempt_at,
                        "sent_with_alert": c.alert_id if c is not d else None})
            return [{"id": r.id, "athlete_id": r.athlete_id, "rule": r.rule, "severity": r.severity,
                     "local_date": r.local_date, "activity_id": r.activity_id, "dedupe_key": r.dedupe_key,
                     "message": r.message, "payload": r.payload, "notified": r.notified, "created_at": r.created_at,
                     "state": r.state, "withdrawn_at": r.withdrawn_at, "withdrawn_reason": r.withdrawn_reason,
                     "deliveries": deliveries.get(r.id, [])} for r in rows]

    def claim_due_deliveries(self, now: datetime, *, lease_s: float = 120, limit: int = 100) -> list[DeliveryClaim]:
        """Claim pending deliveries that are due (a lease, so two workers never send the same one at once).

        Each :class:`DeliveryClaim` comes with ``lease``, a token new to this claim: pass it to
        :meth:`renew_delivery_lease` before sending and to :meth:`finish_delivery`, which refuse a
        sender whose lease ran out and was taken by another one.
        """
        lease = secrets.token_hex(16)
        with self.session() as s:
            q = (select(DeliveryRow).where(DeliveryRow.state == "pending", DeliveryRow.next_attempt_at <= now)
                 .where((DeliveryRow.claimed_until.is_(None)) | (DeliveryRow.claimed_until < now))
                 .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id).limit(limit))
            if self.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = s.scalars(q).all()
            out = []
            for d in rows:
                d.claimed_until = now + timedelta(seconds=lease_s)
                d.claimed_by = lease
                alert = s.get(AlertRow, d.alert_id)
                out.append(DeliveryClaim(id=d.id, alert_id=d.alert_id, channel=d.channel, attempts=int(d.attempts),
                                         lease=lease, idempotency_key=d.idempotency_key,
                                         payload=alert.payload if alert else {},
                                         athlete_id=alert.athlete_id if alert else None))
            return out

    def renew_delivery_lease(self, delivery_id: int, *, lease: str | None, now: datetime, lease_s: float) -> bool:
        """Hold the row ``lease_s`` more seconds from ``now`` (just before sending it); False when
        another sender has claimed it meanwhile (then do not send it). ``lease=None``: no check."""
        with self.session() as s:
            q = update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.state == "pending")
            if lease is not None:
                q = q.where(DeliveryRow.claimed_by == lease)
            result = s.execute(q.values(claimed_until=now + timedelta(seconds=lease_s))
                               .execution_options(synchronize_session=False))
            return bool(rowcount(result))

    def finish_delivery(self, delivery_id: int, *, state: str, attempts: int, now: datetime,
                        next_attempt_at: datetime | None = None, error: str | None = None,
                        lease: str | None = None) -> bool:
        """Record the outcome of a send. With ``lease`` (from :meth:`claim_due_deliveries`) the
        row is changed only while this sender still holds it, in the UPDATE's WHERE: a sender
        whose lease ran out and was claimed by another one returns False and changes nothing
        (it never turns the other's ``sent`` back into ``pending``)."""
        values: dict[str, Any] = {"state": state, "attempts": attempts, "claimed_until": None, "claimed_by": None,
                                  "last_error": error, "next_attempt_at": next_attempt_at}
        if state == "sent":
            values["sent_at"] = now
        with self.session() as s:
            q = update(DeliveryRow).where(DeliveryRow.id == delivery_id)
            if lease is not None:
                q = q.where(DeliveryRow.claimed_by == lease)
            result = s.execute(q.values(**values).execution_options(synchronize_session=False))
            if rowcount(result):
                return True
            if s.get(DeliveryRow, delivery_id) is None:
                raise NotFoundError(f"no delivery with id {delivery_id}")
            return False

    def requeue_failed_deliveries(self, now: datetime) -> int:
        """Put every ``failed`` delivery back in the outbox: ``pending``, due ``now``, attempts 0
        (its last error is kept until the next attempt). Returns how many."""
        with self.session() as s:
            result = s.execute(update(DeliveryRow).where(DeliveryRow.state == "failed")
                               .values(state="pending", attempts=0, next_attempt_at=now, claimed_until=None,
                                       claimed_by=None)
                               .execution_options(synchronize_session=False))
            return rowcount(result)

    def delivery_counts(self) -> dict[str, int]:
        with self.session() as s:
            return {state: n for state, n in s.execute(select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state))}

    # -- Strava connection and sync state ----------------------------------------------------
    def save_strava_tokens(self, athlete_id: int, *, strava_athlete_id: int, access_token: str, refresh_token: str,
                           expires_at: datetime, scope: str | None) -> None:
        with self.session() as s:
            row = s.get(StravaConnectionRow, athlete_id)
            if row is None:
                row = StravaConnectionRow(athlete_id=athlete_id, strava_athlete_id=strava_athlete_id,
                                          access_token=access_token, refresh_token=refresh_token,
                                          expires_at=expires_at, scope=scope, needs_reauth=False)
                s.add(row)
            else:
                row.strava_athlete_id = strava_athlete_id
                row.access_token = access_token
                row.refresh_token = refresh_token
                row.expires_at = expires_at
                row.scope = scope if scope is not None else row.scope
                row.needs_reauth = False

    def get_strava_connection(self, athlete_id: int) -> StravaConnection | None:
        with self.session() as s:
            row = s.get(StravaConnectionRow, athlete_id)
            if row is None:
                return None
            return StravaConnection(athlete_id=row.athlete_id, strava_athlete_id=row.strava_athlete_id,
                                    access_token=row.access_token, refresh_token=row.refresh_token,
                                    expires_at=row.expires_at, scope=row.scope, needs_reauth=bool(row.needs_reauth))

    def strava_connected_athletes(self) -> list[int]:
        with self.session() as s:
            return list(s.scalars(select(StravaConnectionRow.athlete_id).where(StravaConnectionRow.needs_reauth.is_(False))))

    def mark_strava_needs_reauth(self, athlete_id: int) -> None:
        with self.session() as s:
            s.execute(update(StravaConnectionRow).where(StravaConnectionRow.athlete_id == athlete_id).values(needs_reauth=True))

    def delete_strava_connection(self, athlete_id: int) -> None:
        with self.session() as s:
            s.execute(delete(StravaConnectionRow).where(StravaConnectionRow.athlete_id == athlete_id))

    def get_state(self, athlete_id: int, key: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(SyncStateRow, (athlete_id, key))
            return dict(row.value) if row else None

    def set_state(self, athlete_id: int, key: str, value: dict[str, Any]) -> None:
        with self.session() as s:
            row = s.get(SyncStateRow, (athlete_id, key))
            if row is None:
                s.add(SyncStateRow(athlete_id=athlete_id, key=key, value=value))
            else:
                row.value = value

    def delete_state(self, athlete_id: int, key: str) -> None:
        with self.session() as s:
            s.execute(delete(SyncStateRow).where(SyncStateRow.athlete_id == athlete_id, SyncStateRow.key == key))

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
            local_date_of(rec.start_time, athlete.timezone)
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

    def source_hashes(self, athlete_id: int, source: str, *, since: datetime | None = None) -> dict[int, str]:
        """``source_id -> content_hash`` of the athlete's stored (not deleted) activities of ``source``."""
        with self.session() as s:
            q = select(ActivityRow.source_id, ActivityRow.content_hash).where(
                ActivityRow.athlete_id == athlete_id, ActivityRow.source == source, ActivityRow.deleted.is_(False))
            if since is not None:
                q = q.where(ActivityRow.start_time >= since)
            return {int(sid): h for sid, h in s.execute(q)}

    def budget_store(self) -> SqlBudgetStore:
        """The Strava request budget shared by every process on this database (it implements the
        connector's ``BudgetStore`` protocol, plus ``prune``)."""
        from loadmon.storage.budget import SqlBudgetStore

        return SqlBudgetStore(self.engine)

    # -- job runs (daemon health) -----------------------------------------------------------
    def start_job_run(self, job: str, *, athlete_id: int | None, started_at: datetime,
                      counts: dict[str, Any] | None = None) -> int:
        with self.session() as s:
            row = JobRunRow(job=job, athlete_id=athlete_id, started_at=started_at, outcome="running", counts=counts or {})
            s.add(row)
            s.flush()
            return row.id

    def finish_job_run(self, run_id: int, *, outcome: str, finished_at: datetime, counts: dict[str, Any] | None = None,
                       error: str | None = None) -> None:
        with self.session() as s:
            row = s.get(JobRunRow, run_id)
            if row is None:
                raise NotFoundError(f"no job run {run_id}")
            row.outcome = outcome
            row.finished_at = finished_at
            row.counts = counts or {}
            row.error = error

    def last_job_runs(self) -> dict[str, dict[str, Any]]:
        """The latest run and the latest error of each job (over all athletes), from the grouped
        query of :func:`loadmon.storage.jobruns.job_run_overview` (no scan of the whole table)."""
        from loadmon.storage.jobruns import job_run_overview

        out: dict[str, dict[str, Any]] = {}
        for entry in job_run_overview(self):
            info = out.setdefault(entry.job, {"job": entry.job, "last_error": None, "last_error_at": None})
            last, err = entry.last, entry.last_error
            if last and last.id >= info.get("_id", -1):
                info.update({k: getattr(last, k) for k in ("started_at", "finished_at", "outcome", "counts", "error",
                                                          "athlete_id")})
                info["_id"] = last.id
            if err and err.id >= info.get("_err_id", -1):
                info["last_error"] = err.error
                info["last_error_at"] = err.finished_at or err.started_at
                info["_err_id"] = err.id
        for info in out.values():
            info.pop("_id", None)
            info.pop("_err_id", None)
        return out

def _begin_immediate(s: Session) -> None:
    """Take SQLite's write lock now (waiting up to the busy timeout), on the driver's connection:
    transaction control, not a query (statement counters and echo do not see it)."""
    try:
        driver = s.connection().connection.driver_connection
        assert driver is not None  # a checked-out pool connection always has its driver connection
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise OperationalError("BEGIN IMMEDIATE", None, exc) from None


def _reached_runner() -> Any:
    """SQL: the alert is active, or withdrawn after a delivery was sent (or it had no channel)."""
    outbox = select(DeliveryRow.id).where(DeliveryRow.alert_id == AlertRow.id)
    return or_(AlertRow.state == "active", outbox.where(DeliveryRow.state == "sent").exists(), ~outbox.exists())


def storage_error(exc: SQLAlchemyError, doing: str, *, default: str = "error") -> StorageError:
    """A SQLAlchemy error as a StorageError whose ``reason`` says what happened (never parse it):
    a lost connection is ``unreachable``, a lock held past the timeout ``busy``."""
    orig = getattr(exc, "orig", exc)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StorageError(f"{doing}: lost the connection to the database: {orig}", reason="unreachable")
    lowered = str(orig).lower()
    if isinstance(exc, OperationalError) and ("database is locked" in lowered or "lock timeout" in lowered
                                              or "database table is locked" in lowered):
        return StorageError(f"{doing}: the database stayed locked by another writer past the busy timeout "
                            f"(database.busy_timeout_s): {orig}", reason="busy")
    return StorageError(f"{doing}: {type(exc).__name__}: {orig}", reason=default)
