"""The Store: typed reads and writes over SQLAlchemy, returning loadmon.domain records.

Every public method is one transaction. SQLAlchemy and driver errors are translated into
:class:`loadmon.errors.StorageError` (the URL's password is never part of a message).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, delete, event, func, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from loadmon.domain import Activity, ActivityRecord, Athlete, ElevationSource, Sex, Symptom, local_date_of
from loadmon.errors import NotFoundError, StorageError
from loadmon.storage import migrate
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

if TYPE_CHECKING:
    from loadmon.storage.budget import SqlBudgetStore

# Same run from two sources (FIT file and Strava): starts within this and distances within 3 %.
DUPLICATE_START_S = 60
DUPLICATE_DISTANCE_FRACTION = 0.03
_ELEVATION_RANK = {ElevationSource.DEVICE: 3, ElevationSource.COMPUTED: 2, ElevationSource.ESTIMATED: 1, ElevationSource.NONE: 0}


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportOutcome:
    outcome: str  # imported | duplicate | skipped | failed
    activity_ids: tuple[int, ...] = ()
    new_activities: int = 0


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
    except Exception:  # noqa: BLE001 - a malformed URL is reported without its content
        return "<unparsable URL>"


def _to_athlete(row: AthleteRow) -> Athlete:
    return Athlete(id=row.id, name=row.name, timezone=row.timezone, hr_rest=row.hr_rest, hr_max=row.hr_max,
                   sex=Sex(row.sex) if row.sex else None)


def _to_activity(row: ActivityRow) -> Activity:
    return Activity(
        id=row.id, athlete_id=row.athlete_id, source=row.source, source_id=row.source_id, sport=row.sport,
        sub_sport=row.sub_sport, start_time=row.start_time, local_date=row.local_date, distance_m=row.distance_m,
        moving_time_s=row.moving_time_s, elapsed_time_s=row.elapsed_time_s, elevation_gain_m=row.elevation_gain_m,
        elevation_loss_m=row.elevation_loss_m, elevation_source=ElevationSource(row.elevation_source),
        avg_hr=row.avg_hr, max_hr=row.max_hr, perceived_exertion=row.perceived_exertion, device=row.device,
        name=row.name, external_id=row.external_id, deleted=row.deleted, duplicate_of=row.duplicate_of,
        private=row.private, steep_descent_m=row.steep_descent_m,
    )


def _to_symptom(row: SymptomRow) -> Symptom:
    return Symptom(id=row.id, athlete_id=row.athlete_id, site=row.site, side=row.side, location=row.location,
                   severity=row.severity, started_at=row.started_at, resolved_at=row.resolved_at, note=row.note)


_ACTIVITY_COLUMNS = (
    "id", "athlete_id", "source", "source_id", "sport", "sub_sport", "start_time", "local_date", "distance_m",
    "moving_time_s", "elapsed_time_s", "elevation_gain_m", "elevation_loss_m", "elevation_source", "avg_hr", "max_hr",
    "perceived_exertion", "device", "name", "external_id", "deleted", "duplicate_of", "private", "steep_descent_m",
)

_RECORD_FIELDS = (
    "sport", "sub_sport", "name", "start_time", "utc_offset_s", "distance_m", "moving_time_s", "elapsed_time_s",
    "elevation_gain_m", "elevation_loss_m", "steep_descent_m", "avg_hr", "max_hr", "perceived_exertion", "device", "external_id",
    "private", "content_hash",
)


class Store:
    """Database access. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True, echo: bool = False) -> "Store":
        """Connect; create and upgrade the schema to head when ``migrate_schema``.

        A SQLite file is created with mode 0600 (it holds Strava tokens) in a 0700 folder.
        """
        try:
            parsed = make_url(url)
        except Exception:
            raise StorageError(f"database URL is not valid: {_safe_url(url)}") from None
        # hide_parameters: with echo (and in error messages) the SQL is shown without its values,
        # which include the Strava tokens
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:":
                path = Path(db)
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not path.exists():
                    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                    os.close(fd)
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            kwargs["connect_args"] = {"timeout": 30}
        elif parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            kwargs["pool_pre_ping"] = True
        try:
            engine = create_engine(parsed, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"cannot use database {_safe_url(url)}: {type(exc).__name__}") from None
        if engine.dialect.name == "sqlite":
            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes, fsync at checkpoints
                cur.execute("PRAGMA busy_timeout=30000")
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
        try:
            migrate.upgrade(self.engine, revision)
        except OperationalError as exc:
            raise StorageError(f"cannot reach database {_safe_url(str(self.engine.url))}: {exc.orig}") from None

    def schema_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def check_schema(self) -> None:
        current, head = self.schema_revision(), migrate.head_revision()
        if current != head:
            raise StorageError(f"database schema is at {current or 'nothing'}, loadmon needs {head}: run `loadmon db upgrade`")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; errors become StorageError."""
        s = self._session()
        try:
            with s.begin():
                yield s
        except (StorageError, NotFoundError):
            raise
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {type(exc).__name__}: {getattr(exc, 'orig', exc)}") from exc
        finally:
            s.close()

    # -- athletes --------------------------------------------------------------------------
    def ensure_athlete(self, name: str, *, timezone_name: str = "UTC") -> Athlete:
        with self.session() as s:
            row = s.scalar(select(AthleteRow).where(AthleteRow.name == name))
            if row is None:
                row = AthleteRow(name=name, timezone=timezone_name)
                s.add(row)
                s.flush()
            return _to_athlete(row)

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
            return s.scalar(
                select(func.count()).select_from(ImportLogRow).where(
                    ImportLogRow.athlete_id == athlete_id,
                    ImportLogRow.content_hash == content_hash,
                    ImportLogRow.outcome.in_(("imported", "skipped")),
                )
            ) > 0

    def record_import(self, athlete_id: int, *, path: str, content_hash: str | None, records: Sequence[ActivityRecord],
                      outcome: str, error: str | None = None) -> ImportOutcome:
        """Store one file's activities and its import-log row in ONE transaction.

        A file already imported (same content hash) is a duplicate; an activity already
        stored (same source id) is not stored again.
        """
        with self.session() as s:
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
            new = 0
            if outcome == "imported":
                for rec in records:
                    res = self._upsert(s, athlete, rec, update_existing=False)
                    ids.append(res.activity_id)
                    new += int(res.created)
                if records and new == 0:
                    outcome = "duplicate"
            s.add(ImportLogRow(athlete_id=athlete_id, path=path, content_hash=content_hash, outcome=outcome,
                               error=error, activity_count=new))
            return ImportOutcome(outcome=outcome, activity_ids=tuple(ids), new_activities=new)

    def upsert_activity(self, athlete_id: int, record: ActivityRecord) -> UpsertResult:
        """Insert or update (by source + source_id) one activity, e.g. from Strava."""
        with self.session() as s:
            athlete = s.get(AthleteRow, athlete_id)
            if athlete is None:
                raise NotFoundError(f"no athlete with id {athlete_id}")
            return self._upsert(s, athlete, record, update_existing=True)

    def _upsert(self, s: Session, athlete: AthleteRow, rec: ActivityRecord, *, update_existing: bool) -> UpsertResult:
        if rec.start_time.tzinfo is None:
            raise StorageError(f"activity {rec.source}:{rec.source_id} has a naive start time")
        row = s.scalar(select(ActivityRow).where(
            ActivityRow.athlete_id == athlete.id, ActivityRow.source == rec.source, ActivityRow.source_id == rec.source_id))
        values = {f: getattr(rec, f) for f in _RECORD_FIELDS}
        values["elevation_source"] = ElevationSource(rec.elevation_source).value
        values["local_date"] = local_date_of(rec.start_time, athlete.timezone)
        if row is not None:
            if not update_existing:
                return UpsertResult(activity_id=row.id, created=False, changed=False)
            changed = row.deleted or any(getattr(row, k) != v for k, v in values.items())
            if changed:
                for k, v in values.items():
                    setattr(row, k, v)
                row.deleted = False
                s.flush()
                self._link_duplicates(s, row)
            return UpsertResult(activity_id=row.id, created=False, changed=changed)
        row = ActivityRow(athlete_id=athlete.id, source=rec.source, source_id=rec.source_id, **values)
        s.add(row)
        s.flush()
        self._link_duplicates(s, row)
        return UpsertResult(activity_id=row.id, created=True, changed=True)

    def _link_duplicates(self, s: Session, row: ActivityRow) -> None:
        """One run, two sources: keep the record with the best elevation as the primary."""
        window = timedelta(seconds=DUPLICATE_START_S)
        candidates = s.scalars(select(ActivityRow).where(
            ActivityRow.athlete_id == row.athlete_id, ActivityRow.source != row.source, ActivityRow.deleted.is_(False),
            ActivityRow.id != row.id,
            ActivityRow.start_time.between(row.start_time - window, row.start_time + window))).all()
        by_name = []
        if row.external_id:
            day = timedelta(days=1)  # an external_id match is the same run: it started within a day
            by_name = s.scalars(select(ActivityRow).where(
                ActivityRow.athlete_id == row.athlete_id, ActivityRow.source != row.source, ActivityRow.id != row.id,
                ActivityRow.deleted.is_(False), ActivityRow.external_id.is_not(None),
                ActivityRow.start_time.between(row.start_time - day, row.start_time + day))).all()
            by_name = [c for c in by_name if _same_file(c.external_id, row.external_id)]
        for other in [*by_name, *candidates]:
            if other in by_name or _same_distance(other.distance_m, row.distance_m):
                primary, secondary = sorted((row, other), key=_primary_rank, reverse=True)
                primary.duplicate_of = None
                secondary.duplicate_of = primary.id
                s.flush()
                return

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
                # a record that was the primary of a duplicate pair hands the role back
                s.execute(update(ActivityRow).where(ActivityRow.duplicate_of == row.id).values(duplicate_of=None))
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
        """Store an alert and its outbox rows (one per channel) in one transaction.

        Returns the new alert id, or None when the dedupe key already exists (also when a
        concurrent writer stored it first). ``notified``: rows start ``pending`` (due now),
        else ``suppressed`` with ``suppressed_reason`` as their note. Each row's idempotency
        key is :func:`alerts.delivery.policy.make_idempotency_key` (dedupe key, channel).
        """
        from alerts.delivery.policy import DeliveryState, make_idempotency_key

        try:
            with self.session() as s:
                if s.scalar(select(AlertRow.id).where(AlertRow.dedupe_key == dedupe_key)) is not None:
                    return None
                row = AlertRow(athlete_id=athlete_id, rule=rule, severity=severity, local_date=local_date,
                               activity_id=activity_id, dedupe_key=dedupe_key, message=message, payload=payload,
                               notified=notified, created_at=now)
                s.add(row)
                s.flush()
                state = DeliveryState.PENDING if notified else DeliveryState.SUPPRESSED
                for ch in channels:
                    s.add(DeliveryRow(alert_id=row.id, channel=ch, state=state.value, attempts=0,
                                      next_attempt_at=now if notified else None,
                                      last_error=None if notified else suppressed_reason,
                                      idempotency_key=make_idempotency_key(dedupe_key, ch)))
                return row.id
        except IntegrityError:  # a concurrent writer stored the same dedupe key first
            return None

    def alert_keys(self, athlete_id: int) -> set[str]:
        """The dedupe keys of every stored alert of the athlete (to skip known alerts cheaply)."""
        with self.session() as s:
            return set(s.scalars(select(AlertRow.dedupe_key).where(AlertRow.athlete_id == athlete_id)))

    def notified_alerts_between(self, athlete_id: int, rule: str, first: date, last: date) -> list[dict[str, Any]]:
        """Alerts of ``rule`` that were due to be sent (``notified``) on local days first..last."""
        with self.session() as s:
            rows = s.execute(select(AlertRow.id, AlertRow.severity, AlertRow.local_date).where(
                AlertRow.athlete_id == athlete_id, AlertRow.rule == rule, AlertRow.notified.is_(True),
                AlertRow.local_date >= first, AlertRow.local_date <= last).order_by(AlertRow.local_date, AlertRow.id))
            return [{"id": i, "severity": sev, "local_date": d} for i, sev, d in rows]

    def last_alert_time(self, athlete_id: int, rule: str) -> datetime | None:
        with self.session() as s:
            return s.scalar(select(func.max(AlertRow.created_at)).where(
                AlertRow.athlete_id == athlete_id, AlertRow.rule == rule, AlertRow.notified.is_(True)))

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
                for d in s.scalars(select(DeliveryRow).where(DeliveryRow.alert_id.in_(chunk)).order_by(DeliveryRow.id)):
                    deliveries.setdefault(d.alert_id, []).append({
                        "channel": d.channel, "state": d.state, "attempts": d.attempts, "last_error": d.last_error,
                        "sent_at": d.sent_at, "next_attempt_at": d.next_attempt_at})
            return [{"id": r.id, "athlete_id": r.athlete_id, "rule": r.rule, "severity": r.severity,
                     "local_date": r.local_date, "activity_id": r.activity_id, "dedupe_key": r.dedupe_key,
                     "message": r.message, "payload": r.payload, "notified": r.notified, "created_at": r.created_at,
                     "deliveries": deliveries.get(r.id, [])} for r in rows]

    def claim_due_deliveries(self, now: datetime, *, lease_s: float = 120, limit: int = 100) -> list[dict[str, Any]]:
        """Claim pending deliveries that are due (a lease, so two workers never send the same one at once).

        Each row comes with ``lease``, a token new to this claim: pass it to
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
                out.append({"id": d.id, "alert_id": d.alert_id, "channel": d.channel, "attempts": d.attempts, "lease": lease,
                            "idempotency_key": d.idempotency_key, "payload": alert.payload if alert else {},
                            "athlete_id": alert.athlete_id if alert else None})
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
            return bool(result.rowcount)

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
            if result.rowcount:
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
            return int(result.rowcount or 0)

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
        with self.session() as s:
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
            info = out.setdefault(entry["job"], {"job": entry["job"], "last_error": None, "last_error_at": None})
            last, err = entry["last"], entry["last_error"]
            if last and last["id"] >= info.get("_id", -1):
                info.update({k: last[k] for k in ("started_at", "finished_at", "outcome", "counts", "error", "athlete_id")})
                info["_id"] = last["id"]
            if err and err["id"] >= info.get("_err_id", -1):
                info["last_error"] = err["error"]
                info["last_error_at"] = err["finished_at"] or err["started_at"]
                info["_err_id"] = err["id"]
        for info in out.values():
            info.pop("_id", None)
            info.pop("_err_id", None)
        return out

def _same_distance(a: float | None, b: float | None) -> bool:
    if not a or not b:
        return False
    return abs(a - b) <= DUPLICATE_DISTANCE_FRACTION * max(a, b)


def _same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    def stem(x: str) -> str:
        base = x.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!", 1)[-1].lower()
        for suffix in (".gz", ".fit"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        return base
    return stem(a) == stem(b)


def _primary_rank(row: ActivityRow) -> tuple[int, int, int]:
    return (_ELEVATION_RANK[ElevationSource(row.elevation_source)], int(row.source == "fit"), -row.id)
