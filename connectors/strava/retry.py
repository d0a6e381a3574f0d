"""Retry policy for transient Strava failures (network errors, 5xx, unreadable bodies)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """``max_attempts`` tries in all; waits ``base_delay_s * 2**(n-1)`` (capped) between them."""

    max_attempts: int = 5
    base_delay_s: float = 2.0
    max_delay_s: float = 120.0

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after the ``failed_attempts``-th consecutive failure (1-based)."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** max(0, failed_attempts - 1))
