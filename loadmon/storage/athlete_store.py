"""The Store's athletes and their symptoms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from loadmon.domain import Athlete, Sex, Symptom, activity_local_date
from loadmon.errors import NotFoundError
from loadmon.storage.core import StoreCore
from loadmon.storage.models import ActivityRow, AthleteRow, SymptomRow, SymptomUpdateRow
from loadmon.storage.rows import to_athlete as _to_athlete
from loadmon.storage.rows import to_symptom as _to_symptom


class AthleteStoreMixin(StoreCore):
    """Athletes and their symptoms."""

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
        """Change settings; a new time zone recomputes the local date of every activity whose own
        local time is unknown (the others keep the day they were run on, wherever that was)."""
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
                    act.local_date = activity_local_date(act.start_time, act.utc_offset_s, row.timezone)
            s.flush()
            return _to_athlete(row)

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

    def add_symptom_update(self, athlete_id: int, symptom_id: int, *, at: datetime, severity: int,
                           note: str | None) -> Symptom:
        """Add a severity reading to the athlete's symptom; returns the symptom with it."""
        with self.session() as s:
            row = s.get(SymptomRow, symptom_id)
            if row is None or row.athlete_id != athlete_id:
                raise NotFoundError(f"no symptom with id {symptom_id} for this athlete")
            row.updates.append(SymptomUpdateRow(symptom_id=symptom_id, at=at, severity=severity, note=note))
            s.flush()
            s.refresh(row, ["updates"])
            return _to_symptom(row)

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
