"""Why a metric is ``None``: the reasons the engine gives, one vocabulary for all metrics.

A metric that cannot be computed is ``None`` together with one of these strings (never 0,
never NaN, never infinity). Consumers may compare against the constants.
"""

from __future__ import annotations

__all__ = ["WARMING_UP", "NO_BASE", "NO_VARIATION", "NO_DISTANCE", "NO_ELEVATION", "NO_HEART_RATE", "NOT_COMPUTED", "REASONS"]

#: Not enough history yet (the window would reach before the channel's first recorded day).
WARMING_UP = "warming up"
#: The denominator / reference is zero, missing or vanishing (e.g. the first week back after a
#: break, no previous run in the last 30 days; an EWMA chronic load decayed to nearly nothing
#: - see :data:`loadmon.engine.windows.EWMA_EPSILON`).
NO_BASE = "no base"
#: Monotony's standard deviation is zero (every day of the week had the same load).
NO_VARIATION = "no variation"
#: This run has no (or a zero) distance.
NO_DISTANCE = "no distance"
#: This run has no elevation-loss value.
NO_ELEVATION = "no elevation data"

#: The TRIMP of a day whose activities all lack an average heart rate (not 0: unknown).
NO_HEART_RATE = "no heart rate"

#: A channel left out on request (``compute_load(..., channels=...)``): not a metric's reason.
NOT_COMPUTED = "not computed"

REASONS: frozenset[str] = frozenset({WARMING_UP, NO_BASE, NO_VARIATION, NO_DISTANCE, NO_ELEVATION, NO_HEART_RATE})
