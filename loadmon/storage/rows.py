"""Row converters (database rows to domain records) and small result helpers shared by the storage modules."""

from __future__ import annotations

from typing import Any

from loadmon.domain import Activity, Athlete, ElevationSource, Sex, Symptom
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


def to_symptom(row: SymptomRow) -> Symptom:
    return Symptom(id=row.id, athlete_id=row.athlete_id, site=row.site, side=row.side, location=row.location,
                   severity=row.severity, started_at=row.started_at, resolved_at=row.resolved_at, note=row.note)
