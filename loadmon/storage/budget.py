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
(Only the storage layer imports SQLAlchemy; the service gets this through ``Store.budget_store()``.)
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from loadmon.errors import StorageError
from loadmon.storage.models import RateBudgetRow, utcnow
from loadmon.storage.rows import rowcount

_TABLE = RateBudgetRow.__table__


class SqlBudgetStore:
    """``BudgetStore`` over the ``rate_budget`` table (shared by every process using the database).

    ``add`` and ``raise_to`` run one statement each on a pooled DBAPI connection (they run
    several times per Strava request). ``raise_to`` skips the database when this store already
    saw the key at or above the value: counts only grow, except when a process undoes its own
    reservation, so the skipped write could never have raised anything that matters.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        name = engine.dialect.name
        if name not in ("postgresql", "sqlite"):  # pragma: no cover - loadmon supports these two only
            raise StorageError(f"the Strava request budget needs SQLite or PostgreSQL, not {name}")
        mark = "?" if name == "sqlite" else "%s"
        upsert = (f"INSERT INTO rate_budget (window_key, used, updated_at) VALUES ({mark}, {mark}, CURRENT_TIMESTAMP) "
                  "ON CONFLICT (window_key) DO UPDATE SET used = {new}, updated_at = excluded.updated_at RETURNING used")
        self._sql = {
            "add": upsert.format(new="rate_budget.used + excluded.used"),
            "raise": upsert.format(new="CASE WHEN excluded.used > rate_budget.used THEN excluded.used "
                                       "ELSE rate_budget.used END"),
        }
        self._dbapi_error: type[BaseException] = getattr(engine.dialect.dbapi, "Error", Exception)
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<SqlBudgetStore {self._engine.dialect.name}>"

    def _upsert(self, key: str, value: int, *, mode: str) -> int:
        try:
            raw = self._engine.raw_connection()
            try:
                cur = raw.cursor()
                try:
                    cur.execute(self._sql[mode], (key, value))
                    fetched = cur.fetchone()
                    assert fetched is not None  # an upsert ... RETURNING always returns the row
                    used = int(fetched[0])
                finally:
                    cur.close()
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                raw.close()
        except (SQLAlchemyError, self._dbapi_error) as exc:
            raise StorageError(f"database error while counting Strava requests ({key}): {type(exc).__name__}") from None
        with self._lock:
            self._seen[key] = used
            if len(self._seen) > 256:
                self._seen.pop(next(iter(self._seen)))
        return used

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
        with self._lock:
            seen = self._seen.get(key)
        if seen is not None and seen >= value:
            return seen
        return self._upsert(key, int(value), mode="raise")

    def prune(self, *, older_than: timedelta = timedelta(days=3), now: datetime | None = None) -> int:
        """Delete window rows not updated for ``older_than`` (they can never matter again)."""
        cutoff = (now or utcnow()) - older_than
        try:
            with self._engine.begin() as conn:
                return rowcount(conn.execute(delete(RateBudgetRow).where(RateBudgetRow.updated_at < cutoff)))
        except SQLAlchemyError as exc:
            raise StorageError(f"database error while pruning the Strava request budget: {type(exc).__name__}") from None
