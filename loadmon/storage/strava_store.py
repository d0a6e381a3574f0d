"""The Store's Strava connection (the athlete's grant), sync state and shared request budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from loadmon.storage.core import StoreCore
from loadmon.storage.models import StravaConnectionRow, SyncStateRow

if TYPE_CHECKING:
    from loadmon.storage.budget import SqlBudgetStore

__all__ = ["StravaConnection", "StravaStoreMixin"]


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


class StravaStoreMixin(StoreCore):
    """The Strava connection, the sync state and the request budget."""

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

    def budget_store(self) -> SqlBudgetStore:
        """The Strava request budget shared by every process on this database (it implements the
        connector's ``BudgetStore`` protocol, plus ``prune``)."""
        from loadmon.storage.budget import SqlBudgetStore

        return SqlBudgetStore(self.engine)
