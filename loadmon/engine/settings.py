"""Engine settings: windows, conventions and which sports count as running.

Every window is in athlete-local calendar days. The defaults follow
``shared/reference/load-science.md`` (see ``docs/metrics.md`` for the why of each choice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loadmon.sports import RUNNING_SPORTS

__all__ = ["EngineSettings", "PMC_CONVENTIONS"]

#: ``"exp"``: decay = exp(-1/N), so N is a true time constant (GoldenCheetah, Banister's
#: impulse-response model). ``"ewma"``: lambda = 2/(N+1) (Williams 2017, Runalyze; N = 42
#: then behaves like a ~21-day time constant).
PMC_CONVENTIONS: tuple[str, ...] = ("exp", "ewma")


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineSettings:
    """How the engine turns activities into daily load metrics.

    ``running_sports``: sports whose distance and descent count (distance_km and descent_m
    channels, run findings). ``pmc_convention``: decay of fitness/fatigue (CTL/ATL), default
    ``"exp"`` because the PMC's 42/7 days are meant as time constants. ``acute_days`` /
    ``chronic_days``: the ACWR windows (also the EWMA spans N of Williams 2017; the weekly
    windows of ramp, monotony and strain use ``acute_days``). ``warmup_days``: days of history
    a channel needs before its ACWRs, monotony and strain are reported. ``ramp_warmup_days``:
    the same for the weekly ramp (default 28, the reference's one rule for every ratio; 14 is
    the minimum that makes both weeks real). ``spike_lookback_days``: the reference window of
    the single-run distance/descent spike (Frandsen 2025), also its warm-up.
    """

    running_sports: frozenset[str] = RUNNING_SPORTS
    pmc_convention: str = "exp"
    ctl_days: int = 42
    atl_days: int = 7
    acute_days: int = 7
    chronic_days: int = 28
    warmup_days: int = 28
    ramp_warmup_days: int = 28
    spike_lookback_days: int = 30

    def __post_init__(self) -> None:
        sports = self.running_sports
        if isinstance(sports, str) or not isinstance(sports, Iterable):
            raise ValueError(f"running_sports: expected a set of sport names, got {sports!r}")
        sports = frozenset(sports)
        if not all(isinstance(s, str) and s for s in sports):
            raise ValueError(f"running_sports: every sport must be a non-empty string, got {sorted(map(repr, sports))}")
        object.__setattr__(self, "running_sports", sports)
        if self.pmc_convention not in PMC_CONVENTIONS:
            raise ValueError(f"pmc_convention: {self.pmc_convention!r} is not one of {', '.join(PMC_CONVENTIONS)}")
        for name in ("ctl_days", "atl_days", "acute_days", "chronic_days", "warmup_days",
                     "ramp_warmup_days", "spike_lookback_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive whole number of days, got {value!r}")
        if self.acute_days >= self.chronic_days:
            raise ValueError(f"acute_days ({self.acute_days}) must be shorter than chronic_days ({self.chronic_days})")
        if self.warmup_days < self.chronic_days:
            raise ValueError(f"warmup_days ({self.warmup_days}) must be at least chronic_days ({self.chronic_days})")
        if self.ramp_warmup_days < 2 * self.acute_days:
            raise ValueError(
                f"ramp_warmup_days ({self.ramp_warmup_days}) must be at least two acute windows ({2 * self.acute_days})"
            )
