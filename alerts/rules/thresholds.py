"""The rule thresholds: a plain frozen dataclass (the service fills it from ``[alerts.rules]``).

The rules never read the configuration themselves (``alerts.rules`` is pure); the defaults
here are the same as the config defaults, so tests and library users can build one directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from loadmon.domain import AlertSeverity

__all__ = ["RuleThresholds", "SEVERITY_RANK", "ACWR_CHANNELS"]

#: info < warning < danger (a rising severity breaks a cooldown).
SEVERITY_RANK: dict[AlertSeverity, int] = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.DANGER: 2}

#: Load channels the ACWR rule may watch (the engine's channels).
ACWR_CHANNELS: tuple[str, ...] = ("distance_km", "duration_min", "descent_m", "trimp", "srpe")
_ACWR_KINDS = ("ewma", "rolling_coupled", "rolling_uncoupled")


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleThresholds:
    """Every threshold of every rule (see ``docs/alerts.md`` for what each one means)."""

    # weekly_ramp
    weekly_ramp_pct: float = 10.0
    weekly_ramp_danger_pct: float = 30.0
    weekly_ramp_min_km: float = 15.0
    weekly_ramp_min_increase_km: float = 3.0
    weekly_ramp_break_km: float = 5.0
    weekly_ramp_after_break_km: float = 25.0
    # acwr
    acwr_kind: str = "ewma"
    acwr_channel: str = "distance_km"
    acwr_caution: float = 1.3
    acwr_danger: float = 1.5
    acwr_min_acute: float = 15.0
    # day rules (weekly_ramp, acwr): at most one alert per this many hours unless the severity rises
    cooldown_hours: float = 168.0
    # run_spike
    run_spike_pct: float = 10.0
    run_spike_min_km: float = 5.0
    # descent_spike
    descent_spike_pct: float = 25.0
    descent_spike_floor_m: float = 150.0
    # hilly_after_symptoms
    hilly_descent_floor_m: float = 200.0
    hilly_descent_floor_m_per_km: float = 15.0
    hilly_descent_min_m: float = 50.0
    symptom_window_days: int = 14
    symptom_min_severity: int = 3
    symptom_danger_severity: int = 5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("str", str):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{f.name}: expected a finite number >= 0, got {value!r}")
        if self.acwr_kind not in _ACWR_KINDS:
            raise ValueError(f"acwr_kind: {self.acwr_kind!r} is not one of {', '.join(_ACWR_KINDS)}")
        if self.acwr_channel not in ACWR_CHANNELS:
            raise ValueError(f"acwr_channel: {self.acwr_channel!r} is not one of {', '.join(ACWR_CHANNELS)}")
        if self.acwr_danger < self.acwr_caution:
            raise ValueError(f"acwr_danger ({self.acwr_danger}) must not be below acwr_caution ({self.acwr_caution})")
        if self.weekly_ramp_danger_pct < self.weekly_ramp_pct:
            raise ValueError(
                f"weekly_ramp_danger_pct ({self.weekly_ramp_danger_pct}) must not be below weekly_ramp_pct ({self.weekly_ramp_pct})"
            )
        if self.symptom_danger_severity < self.symptom_min_severity:
            raise ValueError(
                f"symptom_danger_severity ({self.symptom_danger_severity}) must not be below "
                f"symptom_min_severity ({self.symptom_min_severity})"
            )
        for name in ("symptom_min_severity", "symptom_danger_severity"):
            if getattr(self, name) > 10:
                raise ValueError(f"{name}: symptom severities are 0-10, got {getattr(self, name)}")
