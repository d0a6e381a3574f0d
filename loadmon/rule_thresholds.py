"""The alert rules' thresholds: every name, type, default and one-line doc, declared once.

The rules read a :class:`RuleThresholds` (``alerts.rules`` is pure: it never reads the
configuration); the config schema's ``[alerts.rules]`` section is built from these fields
(:data:`loadmon.config.RulesConfig`), so each default and comment is written here only.
Pure (standard library + :mod:`loadmon.domain` + :mod:`loadmon.load_channels`) and cheap to
import (the config reads it at CLI start-up, before any rule code is loaded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from loadmon.load_channels import ACWR_DANGER_FROM, ACWR_KIND_NAMES, ACWR_SWEET_SPOT_TOP, CHANNEL_NAMES

__all__ = ["RuleThresholds", "ThresholdError", "ACWR_CHANNELS"]

#: Load channels the ACWR rule may watch (every channel of the engine).
ACWR_CHANNELS: tuple[str, ...] = CHANNEL_NAMES


class ThresholdError(ValueError):
    """A threshold is not acceptable; ``field`` names it (the config key is ``alerts.rules.<field>``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def _t(default: Any, doc: str) -> Any:
    """A threshold with its one-line doc (the comment in ``config.example.toml``)."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleThresholds:
    """Every threshold of every rule (see ``docs/alerts.md`` for what each one means)."""

    weekly_ramp_pct: float = _t(10.0, "weekly_ramp: alert when the last 7 days exceed the 7 before by more than this %")
    weekly_ramp_danger_pct: float = _t(30.0, "weekly_ramp: danger (instead of warning) above this %")
    weekly_ramp_min_km: float = _t(15.0, "weekly_ramp: no alert unless the last 7 days reach this many km")
    weekly_ramp_min_increase_km: float = _t(3.0, "weekly_ramp: no alert unless the increase is at least this many km")
    weekly_ramp_break_km: float = _t(5.0, "weekly_ramp: previous 7 days below this many km = a break (compared with the usual week before it)")
    weekly_ramp_after_break_km: float = _t(25.0, "weekly_ramp: after a break with no known usual week before it, alert only above this many km")
    acwr_kind: str = _t("ewma", f"acwr: which ACWR the rule watches: {' | '.join(ACWR_KIND_NAMES)}")
    acwr_channel: str = _t("distance_km", f"acwr: load channel of the ratio: {' | '.join(CHANNEL_NAMES)}")
    acwr_caution: float = _t(ACWR_SWEET_SPOT_TOP, "acwr: caution (warning) at or above this ratio")
    acwr_danger: float = _t(ACWR_DANGER_FROM, "acwr: danger at or above this ratio")
    acwr_min_acute: float = _t(15.0, "acwr: no alert unless the last 7 days' load reaches this (channel unit: km for distance_km)")
    cooldown_hours: float = _t(168.0, "weekly_ramp and acwr: at most one alert per this many hours unless the severity rises (per-run rules: one alert per run)")
    run_spike_pct: float = _t(10.0, "run_spike: alert when a run is this % longer than the longest of the previous 30 days")
    run_spike_min_km: float = _t(5.0, "run_spike: ignore runs shorter than this")
    descent_spike_pct: float = _t(25.0, "descent_spike: alert when a session's descent exceeds the 30-day max by more than this %")
    descent_spike_floor_m: float = _t(150.0, "descent_spike: ignore sessions descending less than this (m)")
    hilly_descent_floor_m: float = _t(200.0, "hilly_after_symptoms: a session is hilly above this descent (m) ...")
    hilly_descent_floor_m_per_km: float = _t(15.0, "hilly_after_symptoms: ... and this descent per km (m/km), or above the 30-day 75th percentile")
    hilly_descent_min_m: float = _t(50.0, "hilly_after_symptoms: the 75th-percentile test also needs at least this descent (m)")
    symptom_window_days: int = _t(14, "hilly_after_symptoms: symptoms logged within this many days count")
    symptom_min_severity: int = _t(3, "hilly_after_symptoms: minimum symptom severity (0-10)")
    symptom_danger_severity: int = _t(5, "hilly_after_symptoms: danger (instead of warning) from this symptom severity")
    episode_min_severity: int = _t(3, "comeback: a lower-limb symptom opens an episode once it reads this severity (0-10)")
    comeback_days_after: int = _t(28, "comeback: the comeback rules watch an open episode and this many days after it is resolved")
    comeback_spike_pct: float = _t(10.0, "comeback_spike: alert when a run is this % longer than the longest tolerated run since the episode began")
    comeback_start_km: float = _t(3.0, "comeback_spike: with no tolerated run since the episode began, alert when a run is longer than this (km)")
    comeback_hills_floor_m: float = _t(50.0, "comeback_hills: alert when a run's descent is above this (m) ...")
    comeback_hills_floor_m_per_km: float = _t(10.0, "comeback_hills: ... or above this descent per km (m/km)")
    pain_next_morning_hours: float = _t(36.0, "pain_next_morning: the first reading within this many hours after a run counts as its next-morning check-in")
    returned_early_days: float = _t(3.0, "returned_early: alert on a run within this many days of a reading at returned_early_severity or more ...")
    returned_early_severity: int = _t(5, "returned_early: ... (0-10) ...")
    returned_early_clear_severity: int = _t(2, "returned_early: ... unless a reading at or below this (or the resolve) came in between")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("str", str):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ThresholdError(f"{f.name}: expected a finite number >= 0, got {value!r}", field=f.name)
        if self.acwr_kind not in ACWR_KIND_NAMES:
            raise ThresholdError(f"acwr_kind: {self.acwr_kind!r} is not one of {', '.join(ACWR_KIND_NAMES)}", field="acwr_kind")
        if self.acwr_channel not in ACWR_CHANNELS:
            raise ThresholdError(f"acwr_channel: {self.acwr_channel!r} is not one of {', '.join(ACWR_CHANNELS)}",
                                 field="acwr_channel")
        if self.acwr_danger < self.acwr_caution:
            raise ThresholdError(f"acwr_danger ({self.acwr_danger}) must not be below acwr_caution ({self.acwr_caution})",
                                 field="acwr_danger")
        if self.weekly_ramp_danger_pct < self.weekly_ramp_pct:
            raise ThresholdError(
                f"weekly_ramp_danger_pct ({self.weekly_ramp_danger_pct}) must not be below weekly_ramp_pct ({self.weekly_ramp_pct})",
                field="weekly_ramp_danger_pct")
        if self.symptom_danger_severity < self.symptom_min_severity:
            raise ThresholdError(
                f"symptom_danger_severity ({self.symptom_danger_severity}) must not be below "
                f"symptom_min_severity ({self.symptom_min_severity})", field="symptom_danger_severity")
        for name in ("symptom_min_severity", "symptom_danger_severity", "episode_min_severity", "returned_early_severity",
                     "returned_early_clear_severity"):
            if getattr(self, name) > 10:
                raise ThresholdError(f"{name}: symptom severities are 0-10, got {getattr(self, name)}", field=name)
