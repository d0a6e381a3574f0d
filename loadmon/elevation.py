"""Elevation gain/loss from an altitude stream, with hysteresis (pure, standard library).

A change counts only once the altitude has moved at least ``threshold_m`` from the last
counted point (the GoldenCheetah / Runalyze approach; see docs/metrics.md). The same function
serves the FIT connector (record altitude) and the Strava connector (altitude stream), so the
two sources agree on the same run.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_HYSTERESIS_M = 3.0
# FIT legacy ``altitude`` is uint16 scale 5 offset 500: a raw 0 decodes to -500 m. Samples at or
# below this are invalid sentinels (e.g. TomTom's first record), not a dive to the Dead Sea.
INVALID_ALTITUDE_M = -499.0


def gain_loss(altitudes_m: Iterable[float | None], threshold_m: float = DEFAULT_HYSTERESIS_M) -> tuple[float, float]:
    """Return (gain_m, loss_m) of an altitude series; ``None`` and sentinel samples are skipped."""
    gain = 0.0
    loss = 0.0
    anchor: float | None = None
    for a in altitudes_m:
        if a is None or a != a or a <= INVALID_ALTITUDE_M:  # None, NaN, sentinel
            continue
        if anchor is None:
            anchor = a
            continue
        delta = a - anchor
        if delta >= threshold_m:
            gain += delta
            anchor = a
        elif delta <= -threshold_m:
            loss -= delta
            anchor = a
    return gain, loss
