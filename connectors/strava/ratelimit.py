"""Strava's request budget: what may still be sent in this 15-minute window and this UTC day.

Strava limits requests per *application* (all athletes together): by default 200 requests per
15 minutes and 2,000 per day overall, of which 100 / 1,000 may be reads ("non-upload"). The
15-minute windows reset at :00, :15, :30 and :45 UTC, the daily one at midnight UTC. Every API
response reports the application's usage in ``X-RateLimit-Usage`` / ``X-ReadRateLimit-Usage``
(``"15min,daily"``) next to the limits in ``X-RateLimit-Limit`` / ``X-ReadRateLimit-Limit``.

:class:`RateBudget` keeps a local count per window that is

* *reserved* before each request (:meth:`RateBudget.acquire`): +1 in every window the request
  counts against; if that would pass ``limit - margin`` the reservation is undone and the
  caller either sleeps until the window resets (``wait=True``, injected ``sleep``) or gets
  :class:`~loadmon.errors.RateLimitExhausted` with ``resume_at``;
* *raised to* what Strava reports after each response (:meth:`RateBudget.observe`, installed
  as a ``requests`` response hook), so usage by other processes of the same application is
  taken into account; the limits in the headers replace the configured ones;
* marked full after a 429 (:meth:`RateBudget.note_rate_limited`), so the next acquire waits for
  the next window.

The counts live in a :class:`BudgetStore` (``used`` / ``add`` / ``raise_to`` per window key).
:class:`InMemoryBudgetStore` is the default; a PostgreSQL or Redis implementation of the same
three methods lets several workers share one application budget.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import requests
import structlog

from loadmon.errors import RateLimitExhausted

log = structlog.get_logger("connectors.strava.ratelimit")

READ = "read"  # GET requests (Strava's "non-upload" / read limit)
OVERALL = "overall"  # every API request
STRAVA_WINDOW_S = 900
DAY_S = 86_400


@runtime_checkable
class BudgetStore(Protocol):
    """Usage counters per window key (e.g. ``read:900:2030-01-01T10:15Z``, ``read:day:2030-01-01``).

    All three operations must be atomic per key for a store shared by several workers
    (PostgreSQL: ``INSERT .. ON CONFLICT DO UPDATE SET used = used + n`` / ``GREATEST``).
    """

    def used(self, key: str) -> int:
        """Current count of ``key`` (0 when unknown)."""
        ...

    def add(self, key: str, n: int) -> int:
        """Add ``n`` (may be negative, to undo a reservation) and return the new count."""
        ...

    def raise_to(self, key: str, value: int) -> int:
        """Set the count to ``max(count, value)`` and return it."""
        ...


class InMemoryBudgetStore:
    """Process-local :class:`BudgetStore` (thread-safe); keeps the most recent ``max_keys`` keys."""

    def __init__(self, max_keys: int = 512) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def _touch(self, key: str, value: int) -> int:
        self._counts[key] = value
        self._counts.move_to_end(key)
        while len(self._counts) > self._max_keys:
            self._counts.popitem(last=False)
        return value

    def used(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    def add(self, key: str, n: int) -> int:
        with self._lock:
            return self._touch(key, self._counts.get(key, 0) + n)

    def raise_to(self, key: str, value: int) -> int:
        with self._lock:
            return self._touch(key, max(self._counts.get(key, 0), value))


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    per_window: int
    per_day: int


@dataclass(frozen=True, kw_only=True, slots=True)
class BudgetStatus:
    """Usage of one limit class (read / overall) in the current windows."""

    kind: str
    window_start: datetime
    window_used: int
    window_limit: int
    day: str
    day_used: int
    day_limit: int
    margin: int


def parse_rate_header(value: str | None) -> tuple[int, int] | None:
    """``"100,1000"`` -> ``(100, 1000)``; anything else -> ``None``."""
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2:
        return None
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RateBudget:
    """The application's Strava request budget (see the module docstring)."""

    def __init__(
        self,
        *,
        store: BudgetStore | None = None,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
        read_limit_15min: int = 100,
        read_limit_daily: int = 1000,
        overall_limit_15min: int = 200,
        overall_limit_daily: int = 2000,
        margin: int = 2,
        window_s: int = STRAVA_WINDOW_S,
        grace_s: float = 1.0,
    ) -> None:
        if window_s <= 0 or DAY_S % window_s:
            raise ValueError(f"window_s={window_s}: must divide a day (Strava: 900)")
        self.store: BudgetStore = store if store is not None else InMemoryBudgetStore()
        self._clock = clock
        self._sleep = sleep
        self.margin = max(0, margin)
        self.window_s = window_s
        self.grace_s = grace_s
        self._lock = threading.Lock()
        self._limits: dict[str, Limits] = {
            READ: Limits(per_window=read_limit_15min, per_day=read_limit_daily),
            OVERALL: Limits(per_window=overall_limit_15min, per_day=overall_limit_daily),
        }
        self.waits: int = 0  # how many times acquire() slept (figures for reports)
        self.waited_s: float = 0.0

    # -- windows -----------------------------------------------------------------------------
    def window_start(self, now: datetime) -> datetime:
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % self.window_s, UTC)

    def next_window(self, now: datetime) -> datetime:
        return self.window_start(now) + timedelta(seconds=self.window_s)

    @staticmethod
    def next_day(now: datetime) -> datetime:
        day = now.astimezone(UTC).date()
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)

    def _keys(self, kind: str, now: datetime) -> tuple[str, str]:
        ws = self.window_start(now)
        return f"{kind}:{self.window_s}:{ws:%Y-%m-%dT%H:%M:%SZ}", f"{kind}:day:{now.astimezone(UTC):%Y-%m-%d}"

    def limits(self, kind: str) -> Limits:
        with self._lock:
            return self._limits[kind]

    def _allowed(self, limit: int) -> int:
        return max(1, limit - self.margin)

    # -- before a request ----------------------------------------------------------------------
    def try_acquire(self, *, read: bool = True) -> datetime | None:
        """Reserve one request now; return ``None`` on success, else when to try again."""
        now = self._clock()
        kinds = (READ, OVERALL) if read else (OVERALL,)
        reserved: list[str] = []
        blocked: datetime | None = None
        for kind in kinds:
            lim = self.limits(kind)
            short_key, day_key = self._keys(kind, now)
            for key, limit, resume in ((short_key, lim.per_window, self.next_window(now)),
                                       (day_key, lim.per_day, self.next_day(now))):
                count = self.store.add(key, 1)
                reserved.append(key)
                if count > self._allowed(limit):
                    blocked = resume if blocked is None else max(blocked, resume)
        if blocked is not None:
            for key in reserved:
                self.store.add(key, -1)
            return blocked + timedelta(seconds=self.grace_s)
        return None

    def acquire(self, *, wait: bool = True, read: bool = True) -> None:
        """Reserve one request, sleeping until the next window while the budget is spent.

        With ``wait=False`` a spent budget raises :class:`RateLimitExhausted` (``resume_at``).
        """
        while True:
            resume_at = self.try_acquire(read=read)
            if resume_at is None:
                return
            now = self._clock()
            if not wait:
                raise RateLimitExhausted(
                    f"Strava request budget spent ({self._describe(now)}, margin {self.margin}); "
                    f"resume after {resume_at.isoformat()}",
                    resume_at=resume_at,
                )
            seconds = max((resume_at - now).total_seconds(), 0.0)
            log.info("strava.rate_limit.wait", resume_at=resume_at.isoformat(), seconds=round(seconds, 1),
                     usage=self._describe(now))
            self.waits += 1
            self.waited_s += seconds
            self._sleep(seconds)

    def _describe(self, now: datetime) -> str:
        out = []
        for kind in (READ, OVERALL):
            lim = self.limits(kind)
            short_key, day_key = self._keys(kind, now)
            out.append(f"{kind} {self.store.used(short_key)}/{lim.per_window} per window, "
                       f"{self.store.used(day_key)}/{lim.per_day} per day")
        return "; ".join(out)

    # -- after a response --------------------------------------------------------------------
    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Take Strava's reported usage and limits into account."""
        now = self._clock()
        for kind, prefix in ((READ, "X-ReadRateLimit"), (OVERALL, "X-RateLimit")):
            usage = parse_rate_header(headers.get(f"{prefix}-Usage"))
            limit = parse_rate_header(headers.get(f"{prefix}-Limit"))
            if limit is not None and limit[0] > 0 and limit[1] > 0:
                with self._lock:
                    self._limits[kind] = Limits(per_window=limit[0], per_day=limit[1])
            if usage is not None:
                short_key, day_key = self._keys(kind, now)
                self.store.raise_to(short_key, usage[0])
                self.store.raise_to(day_key, usage[1])

    def observe(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """``requests`` response hook: feed every API response's rate-limit headers."""
        if "/oauth/" in (response.url or ""):
            return
        self.observe_headers(response.headers)

    def install(self, session: requests.Session) -> None:
        """Register :meth:`observe` as a response hook of ``session`` (once)."""
        hooks = session.hooks.setdefault("response", [])
        if not any(getattr(h, "__self__", None) is self for h in hooks):
            hooks.append(self.observe)

    def note_rate_limited(self, headers: Mapping[str, str] | None) -> datetime:
        """After a 429: mark the exhausted window(s) full; return when requests may resume."""
        now = self._clock()
        headers = headers or {}
        self.observe_headers(headers)
        day_full = False
        for kind, prefix in ((READ, "X-ReadRateLimit"), (OVERALL, "X-RateLimit")):
            usage = parse_rate_header(headers.get(f"{prefix}-Usage"))
            lim = self.limits(kind)
            if usage is not None and usage[1] >= lim.per_day:
                day_full = True
                self.store.raise_to(self._keys(kind, now)[1], lim.per_day)
        # Whatever the headers say, Strava refused: this window is spent for reads.
        lim = self.limits(READ)
        self.store.raise_to(self._keys(READ, now)[0], lim.per_window)
        resume = self.next_day(now) if day_full else self.next_window(now)
        return resume + timedelta(seconds=self.grace_s)

    # -- reporting ---------------------------------------------------------------------------
    def status(self) -> list[BudgetStatus]:
        now = self._clock()
        out = []
        for kind in (READ, OVERALL):
            lim = self.limits(kind)
            short_key, day_key = self._keys(kind, now)
            out.append(BudgetStatus(kind=kind, window_start=self.window_start(now), window_used=self.store.used(short_key),
                                    window_limit=lim.per_window, day=f"{now.astimezone(UTC):%Y-%m-%d}",
                                    day_used=self.store.used(day_key), day_limit=lim.per_day, margin=self.margin))
        return out
