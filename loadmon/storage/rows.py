"""Row converters (database rows to domain records) and small result helpers shared by the storage modules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from loadmon.domain import Activity, Athlete, ElevationSource, SeverityUpdate, Sex, Symptom
from loadmon.storage.models import ActivityRow, AthleteRow, SymptomRow


def rowcount(result: Any) -> int:
    """The rows an UPDATE or DELETE touched: a ``CursorResult``'s ``rowcount`` (the typed
    ``Result`` that ``Session.execute`` is declared to return lacks it); 0 when unknown."""
    return int(getattr(result, "rowcount", 0) or 0)


def to_athlete(row: AthleteRow) -> Athlete:
    return Athlete(id=row.id, name=row.name, timezone=row.timezone, hr_rest=row.hr_rest, hr_max=row.hr_max,
                   sex=Sex(row.sex) if row.sex else None)


def to_activity(row: ActivityRow) -> Activity:
    return Activity(
        id=row.id, athlete_id=row.athlete_id, source=row.source, source_id=row.source_id, sport=row.sport,
        sub_sport=row.sub_sport, start_time=row.start_time, local_date=row.local_date, distance_m=row.distance_m,
        moving_time_s=row.moving_time_s, elapsed_time_s=row.elapsed_time_s, elevation_gain_m=row.elevation_gain_m,
        elevation_loss_m=row.elevation_loss_m, elevation_source=ElevationSource(row.elevation_source),
        avg_hr=row.avg_hr, max_hr=row.max_hr, perceived_exertion=row.perceived_exertion, device=row.device,
        name=row.name, external_id=row.external_id, deleted=row.deleted, duplicate_of=row.duplicate_of,
        private=row.private, steep_descent_m=row.steep_descent_m, excluded=row.excluded,
        excluded_reason=row.excluded_reason, truncated=row.truncated,
    )


#: The activity columns :func:`activity_of` reads, in its order (a column-only read: no ORM objects).
ACTIVITY_COLUMNS = (
    "id", "athlete_id", "source", "source_id", "sport", "sub_sport", "start_time", "local_date", "distance_m",
    "moving_time_s", "elapsed_time_s", "elevation_gain_m", "elevation_loss_m", "elevation_source", "avg_hr", "max_hr",
    "perceived_exertion", "device", "name", "external_id", "deleted", "duplicate_of", "private", "steep_descent_m",
    "excluded", "excluded_reason", "truncated",
)
_ELEVATION_SOURCES = {e.value: e for e in ElevationSource}
_from_iso = datetime.fromisoformat
_date_from_iso = date.fromisoformat


def activity_of(row: Any) -> Activity:
    """An :class:`Activity` from the values of :data:`ACTIVITY_COLUMNS`, in that order (the same
    record :func:`to_activity` makes from an ORM row, at about half the cost: 10 years of history
    are read on every status)."""
    (id_, athlete_id, source, source_id, sport, sub_sport, start_time, local_date, distance_m, moving_time_s,
     elapsed_time_s, gain, loss, elevation_source, avg_hr, max_hr, rpe, device, name, external_id, deleted,
     duplicate_of, private, steep, excluded, excluded_reason, truncated) = row
    return Activity(
        id=id_, athlete_id=athlete_id, source=source, source_id=source_id, sport=sport, sub_sport=sub_sport,
        start_time=start_time, local_date=local_date, distance_m=distance_m, moving_time_s=moving_time_s,
        elapsed_time_s=elapsed_time_s, elevation_gain_m=gain, elevation_loss_m=loss,
        elevation_source=_ELEVATION_SOURCES.get(elevation_source) or ElevationSource(elevation_source),
        avg_hr=avg_hr, max_hr=max_hr, perceived_exertion=rpe, device=device, name=name, external_id=external_id,
        deleted=deleted, duplicate_of=duplicate_of, private=private, steep_descent_m=steep, excluded=excluded,
        excluded_reason=excluded_reason, truncated=truncated,
    )


def activity_of_sqlite(row: Any) -> Activity:
    """:func:`activity_of` for the raw values SQLite's driver gives for :data:`ACTIVITY_COLUMNS`
    (datetimes and dates as ISO text, booleans as 0/1): what SQLAlchemy's types would make of them."""
    (id_, athlete_id, source, source_id, sport, sub_sport, start_time, local_date, distance_m, moving_time_s,
     elapsed_time_s, gain, loss, elevation_source, avg_hr, max_hr, rpe, device, name, external_id, deleted,
     duplicate_of, private, steep, excluded, excluded_reason, truncated) = row
    return Activity(
        id=id_, athlete_id=athlete_id, source=source, source_id=source_id, sport=sport, sub_sport=sub_sport,
        start_time=_from_iso(start_time).replace(tzinfo=UTC), local_date=_date_from_iso(local_date),
        distance_m=distance_m, moving_time_s=moving_time_s, elapsed_time_s=elapsed_time_s, elevation_gain_m=gain,
        elevation_loss_m=loss,
        elevation_source=_ELEVATION_SOURCES.get(elevation_source) or ElevationSource(elevation_source),
        avg_hr=avg_hr, max_hr=max_hr, perceived_exertion=rpe, device=device, name=name, external_id=external_id,
        deleted=bool(deleted), duplicate_of=duplicate_of, private=None if private is None else bool(private),
        steep_descent_m=steep, excluded=bool(excluded), excluded_reason=excluded_reason, truncated=bool(truncated),
    )


def to_symptom(row: SymptomRow) -> Symptom:
    updates = tuple(SeverityUpdate(id=u.id, symptom_id=row.id, at=u.at, severity=u.severity, note=u.note)
                    for u in row.updates)
    return Symptom(id=row.id, athlete_id=row.athlete_id, site=row.site, side=row.side, location=row.location,
                   severity=row.severity, started_at=row.started_at, resolved_at=row.resolved_at, note=row.note,
                   updates=updates)
