"""The Strava request budget in SQL: one row per rate-limit window key (``rate_budget`` table).

Strava counts requests per *application*, so every process and worker of one loadmon
installation must share the counts. :class:`SqlBudgetStore` implements the connector's
``BudgetStore`` protocol (``used`` / ``add`` / ``raise_to``) with single atomic statements
that work on SQLite (>= 3.35) and PostgreSQL alike::

    INSERT INTO rate_budget (window_key, used, ...) VALUES (:key, :n, ...)
    ON CONFLICT (window_key) DO UPDATE SET used = rate_budget.used + excluded.used
    RETURNING used

(``raise_to`` uses ``CASE WHEN excluded.used > used ...`` instead of the addition). Each call
is its own short transaction, so two workers reserving at the same time each see the count
that includes the other's reservation. Keys look like ``read:900:2030-01-01T10:15:00Z`` and
``read:day:2030-01-01``; :meth:`SqlBudgetStore.prune` drops rows not touched for a few days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from loadmon.errors import StorageError
from loadmon.storage.models import RateBudgetRow, utcnow

_TABLE = RateBudgetRow.__table__


class SqlBudgetStore:
    """``BudgetStore`` over the ``rate_budget`` table (shared by every process using the database)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        name = engine.dialect.name
        if name == "postgresql":
            self._insert: Any = postgresql.insert
        elif name == "sqlite":
            self._insert = sqlite.insert
        else:  # pragma: no cover - loadmon supports these two only
            raise StorageError(f"the Strava request budget needs SQLite or PostgreSQL, not {name}")

    def __repr__(self) -> str:
        return f"<SqlBudgetStore {self._engine.dialect.name}>"

    def _upsert(self, key: str, value: int, *, mode: str) -> int:
        stmt = self._insert(_TABLE).values(window_key=key, used=value, updated_at=utcnow())
        current = _TABLE.c.used
        if mode == "add":
            new_used: Any = current + stmt.excluded.used
        else:
            new_used = case((stmt.excluded.used > current, stmt.excluded.used), else_=current)
        stmt = stmt.on_conflict_do_update(index_elements=[_TABLE.c.window_key],
                                          set_={"used": new_used, "updated_at": stmt.excluded.updated_at})
        stmt = stmt.returning(_TABLE.c.used)
        try:
            with self._engine.begin() as conn:
                return int(conn.execute(stmt).scalar_one())
        except SQLAlchemyError as exc:
            raise StorageError(f"database error while counting Strava requests ({key}): {type(exc).__name__}") from None

    def used(self, key: str) -> int:
        try:
            with self._engine.connect() as conn:
                value = conn.execute(select(_TABLE.c.used).where(_TABLE.c.window_key == key)).scalar()
        except SQLAlchemyError as exc:
            raise StorageError(f"database error while reading the Strava request budget ({key}): {type(exc).__name__}") from None
        return int(value or 0)

    def add(self, key: str, n: int) -> int:
        """Add ``n`` (negative to undo a reservation) atomically; return the new count."""
        return self._upsert(key, int(n), mode="add")

    def raise_to(self, key: str, value: int) -> int:
        """``count = max(count, value)`` atomically; return the count."""
        return self._upsert(key, int(value), mode="raise")

    def prune(self, *, older_than: timedelta = timedelta(days=3), now: datetime | None = None) -> int:
        """Delete window rows not updated for ``older_than`` (they can never matter again)."""
        cutoff = (now or utcnow()) - older_than
        try:
            with self._engine.begin() as conn:
                return int(conn.execute(delete(_TABLE).where(_TABLE.c.updated_at < cutoff)).rowcount or 0)
        except SQLAlchemyError as exc:
            raise StorageError(f"database error while pruning the Strava request budget: {type(exc).__name__}") from None
