"""SQLAlchemy 2.x typed table models. Only the storage layer imports SQLAlchemy.

Every id is 64-bit (BigInteger; on SQLite an INTEGER PRIMARY KEY is already 64-bit).
Datetimes are stored timezone-aware (UTC); SQLite keeps them as naive UTC text and
:class:`UTCDateTime` restores the UTC zone on the way out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# BigInteger primary keys must stay INTEGER on SQLite to be rowid aliases (autoincrement).
BigId = BigInteger().with_variant(Integer, "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: loadmon stores timezone-aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), int: Integer()}


class AthleteRow(Base):
    __tablename__ = "athletes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hr_rest: Mapped[int | None]
    hr_max: Mapped[int | None]
    sex: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ActivityRow(Base):
    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("athlete_id", "source", "source_id", name="uq_activities_source"),
        Index("ix_activities_athlete_date", "athlete_id", "local_date"),
        Index("ix_activities_athlete_start", "athlete_id", "start_time"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("athletes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(BigInteger)
    sport: Mapped[str] = mapped_column(String(64))
    sub_sport: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(500))
    start_time: Mapped[datetime]
    local_date: Mapped[date] = mapped_column(Date)
    utc_offset_s: Mapped[int | None]
    distance_m: Mapped[float | None] = mapped_column(Float)
    moving_time_s: Mapped[float | None] = mapped_column(Float)
    elapsed_time_s: Mapped[float | None] = mapped_column(Float)
    elevation_gain_m: Mapped[float | None] = mapped_column(Float)
    elevation_loss_m: Mapped[float | None] = mapped_column(Float)
    elevation_source: Mapped[str] = mapped_column(String(16), default="none")
    steep_descent_m: Mapped[float | None] = mapped_column(Float)
    avg_hr: Mapped[int | None]
    max_hr: Mapped[int | None]
    perceived_exertion: Mapped[float | None] = mapped_column(Float)
    device: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(500))
    private: Mapped[bool | None] = mapped_column(Boolean)
    content_hash: Mapped[str] = mapped_column(String(80))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("activities.id", ondelete="SET NULL"))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # kept, not counted
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    # read from a FIT file whose end is missing (`import --allow-truncated`): only the readable part
    truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    quality: Mapped[int | None]  # completeness of the record (loadmon.storage.duplicates.completeness)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ActivityRevisionRow(Base):
    """A counter per athlete raised by triggers on every insert, update and delete of their
    activities (migration 0012): a kept activity list is current while it stays the same. No
    foreign key: the counter outlives its athlete, so a reused id never meets an old list."""

    __tablename__ = "activity_revisions"
    athlete_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rev: Mapped[int] = mapped_column(BigInteger)


class ActivityProfileRow(Base):
    """An activity's elevation profile for the altitude chart: up to ~500 (distance m, altitude m)
    points packed as little-endian float32 pairs (:mod:`loadmon.storage.profiles`); beside the
    activity, so listing activities never reads it."""

    __tablename__ = "activity_profiles"
    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    points: Mapped[bytes] = mapped_column(LargeBinary)


class ImportLogRow(Base):
    __tablename__ = "import_log"
    __table_args__ = (Index("ix_import_log_hash", "athlete_id", "content_hash"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("athletes.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(16))  # imported | duplicate | skipped | failed
    error: Mapped[str | None] = mapped_column(Text)
    activity_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRow(Base):
    """A web login (``loadmon user add``): one athlete's, with a role; the password as an Argon2id hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    athlete_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="athlete")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    """A personal API token of a web login (``loadmon user token``): only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SymptomRow(Base):
    __tablename__ = "symptoms"
    # a deleted symptom's id is never handed out again (SQLite would reuse it): its withdrawn
    # alerts' dedupe keys hold it (migration 0007)
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(16))
    location: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[int]
    started_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updates: Mapped[list[SymptomUpdateRow]] = relationship(
        lazy="selectin", order_by="[SymptomUpdateRow.at, SymptomUpdateRow.id]", cascade="all, delete-orphan",
        passive_deletes=True)


class SymptomUpdateRow(Base):
    """A later severity reading of a symptom (``loadmon symptom update``, the morning check-in)."""

    __tablename__ = "symptom_updates"
    __table_args__ = (Index("ix_symptom_updates_symptom_at", "symptom_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    symptom_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("symptoms.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    severity: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_athlete_rule", "athlete_id", "rule", "local_date"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("athletes.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    local_date: Mapped[date] = mapped_column(Date)
    activity_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("activities.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    message: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    notified: Mapped[bool] = mapped_column(Boolean)  # due to be sent (inside the notify window)
    state: Mapped[str] = mapped_column(String(16), default="active", server_default="active")  # active | withdrawn
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]  # the runner has seen it (0010_alert_acknowledged)


class DeliveryRow(Base):
    """The outbox: one row per (alert, channel). The alerts of one evaluation for one athlete go
    out as one message per channel: the most severe one's row carries them (``pending``), the
    others' rows are ``bundled`` with ``bundle_id`` = that row's id."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", name="uq_deliveries_alert_channel"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | suppressed | withdrawn
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # state "bundled": the id of the delivery row (same channel) whose message carries this alert
    bundle_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    claimed_until: Mapped[datetime | None]
    # the lease token of the sender holding the row: only that sender may finish it (0003_outbox_lease)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StravaConnectionRow(Base):
    __tablename__ = "strava_connections"
    athlete_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True)
    strava_athlete_id: Mapped[int] = mapped_column(BigInteger)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    scope: Mapped[str | None] = mapped_column(String(200))
    needs_reauth: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncStateRow(Base):
    """Small per-athlete key/value state (backfill cursor, last sync, ...)."""

    __tablename__ = "sync_state"
    athlete_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobRunRow(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    athlete_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))  # running | ok | error
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class RateBudgetRow(Base):
    """Shared Strava request budget: usage per rate-limit window (global across workers)."""

    __tablename__ = "rate_budget"
    window_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
    limit: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StravaSubscriptionRow(Base):
    """The application's Strava push subscription that loadmon created (at most one row): an
    event is believed only when it names this id (``loadmon strava webhook subscribe``)."""

    __tablename__ = "strava_subscriptions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Strava's subscription id
    callback_url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StravaEventRow(Base):
    """A Strava webhook event as received (a hint, read again from the API when processed).
    One row per (object type, object id, aspect, event time): Strava's retries are no new rows.
    ``state``: pending | done | failed; claimed like the outbox (``claimed_until``/``claimed_by``)."""

    __tablename__ = "strava_events"
    __table_args__ = (
        UniqueConstraint("object_type", "object_id", "aspect_type", "event_time", name="uq_strava_events_event"),
        Index("ix_strava_events_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[int] = mapped_column(BigInteger)
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int] = mapped_column(BigInteger)
    aspect_type: Mapped[str] = mapped_column(String(16))
    event_time: Mapped[datetime]
    updates: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)  # what processing did, or the last error
