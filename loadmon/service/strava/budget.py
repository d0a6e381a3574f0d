"""The Strava request budget of the installation: one :class:`RateBudget` per run over
``store.budget_store()`` (the ``rate_budget`` table), so every process and worker shares
Strava's per-application limits; the time a number of requests needs within it; and the
reserve a continued backfill leaves to the other athletes' syncs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from connectors.strava import RateBudget
from loadmon.errors import LoadmonError, RateLimitExhausted
from loadmon.service.context import Service
from loadmon.service.strava.common import format_resume, log, sleep_of


def make_budget(svc: Service, *, sleep: Callable[[float], None] | None = None, prune: bool = False) -> RateBudget:
    """The application's request budget, shared through the database by every process."""
    cfg = svc.config.strava
    store = svc.store.budget_store()
    if prune:  # windows of past days can never matter again
        try:
            store.prune()
        except LoadmonError as exc:  # pragma: no cover - housekeeping only
            log.warning("strava.budget.prune_failed", error=str(exc))
    return RateBudget(store=store, clock=svc.clock, sleep=sleep or sleep_of(svc),
                      read_limit_15min=cfg.read_limit_15min, read_limit_daily=cfg.read_limit_daily,
                      overall_limit_15min=max(200, 2 * cfg.read_limit_15min),
                      overall_limit_daily=max(2000, 2 * cfg.read_limit_daily), margin=cfg.budget_margin)


def budget_eta(requests_left: float, budget: RateBudget, now: datetime, *, seconds_per_request: float = 0.0) -> float:
    """Seconds needed for ``requests_left`` reads within the budget's windows (15 min and day).

    What remains of the current window and day is used first, then each new window allows
    ``limit - margin`` reads until the day's allowance is spent, and so on (1 s grace per reset).
    """
    if requests_left <= 0:
        return 0.0
    read = next(s for s in budget.status() if s.kind == "read")
    per_window = max(1, read.window_limit - read.margin)
    per_day = max(1, read.day_limit - read.margin)
    left_window: float = max(0, per_window - read.window_used)
    left_day: float = max(0, per_day - read.day_used)
    t = now
    remaining = float(requests_left)
    for _ in range(100_000):
        n = min(remaining, left_window, left_day)
        remaining -= n
        t += timedelta(seconds=n * seconds_per_request)
        left_window -= n
        left_day -= n
        if remaining <= 0:
            break
        if left_day <= 0:
            t = budget.next_day(t) + timedelta(seconds=budget.grace_s)
            left_day, left_window = per_day, per_window
        else:
            t = budget.next_window(t) + timedelta(seconds=budget.grace_s)
            if t.date() != (t - timedelta(seconds=budget.window_s)).date():
                left_day = per_day
            left_window = per_window
    return max(0.0, (t - now).total_seconds())


def reserve_check(svc: Service, budget: RateBudget) -> Callable[[], None]:
    """Raise RateLimitExhausted while less than a fifth of the window or the day is left."""
    cfg = svc.config.strava
    window_reserve = max(10, cfg.read_limit_15min // 5)
    day_reserve = max(100, cfg.read_limit_daily // 5)

    def check() -> None:
        now = svc.clock()
        read = next(st for st in budget.status() if st.kind == "read")
        resume: datetime | None = None
        if read.day_limit - read.day_used <= min(day_reserve, read.day_limit // 2) + read.margin:
            resume = budget.next_day(now)
        elif read.window_limit - read.window_used <= min(window_reserve, read.window_limit // 2) + read.margin:
            resume = budget.next_window(now)
        if resume is not None:
            resume += timedelta(seconds=budget.grace_s)
            raise RateLimitExhausted(f"Strava request budget: the rest of this window is kept for syncs; "
                                     f"{format_resume(resume, now)}", resume_at=resume)
    return check

