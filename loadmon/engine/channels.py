"""Load channels: what one activity contributes to each daily load series.

Names, units, labels, which sports count and each one's per-activity load: the table
:data:`loadmon.load_channels.CHANNEL_SPECS`.

An activity without the input a channel needs contributes nothing to that channel (and is
counted in ``ChannelSeries.activities_missing``). Non-finite or negative inputs count as
missing.

Banister TRIMP = minutes * HRr * a * exp(b * HRr), HRr = (avg HR - rest) / (max - rest),
clamped to [0, 1]. a/b = 0.64/1.92 (men), 0.86/1.67 (women); when the athlete's sex is
unknown we use Runalyze's "unknown" constants 0.725215/1.795, which lie between the male and
female curves (weighting a*exp(b*HRr) at HRr 0.8: 2.97 men, 3.05 unknown, 3.27 women) instead of silently assuming
one sex.

The per-activity arithmetic lives in :func:`loadmon.engine.compute.compute_load` (one tight
loop over the activities). Pure: standard library + :mod:`loadmon.domain` + :mod:`loadmon.load_channels`.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadmon.domain import Athlete, Sex
from loadmon.load_channels import CHANNEL_NAMES, CHANNEL_SPECS

__all__ = [
    "DISTANCE", "DURATION", "DESCENT", "TRIMP", "SRPE", "CHANNELS", "CHANNEL_UNITS",
    "TRIMP_CONSTANTS", "TrimpConstants", "trimp_reason",
]

#: Every channel name, in display order (the specs: :data:`loadmon.load_channels.CHANNEL_SPECS`).
CHANNELS: tuple[str, ...] = CHANNEL_NAMES
DISTANCE, DURATION, DESCENT, TRIMP, SRPE = CHANNELS
CHANNEL_UNITS: dict[str, str] = {c.name: c.unit for c in CHANNEL_SPECS}


@dataclass(frozen=True, kw_only=True, slots=True)
class TrimpConstants:
    a: float
    b: float
    source: str


#: Banister TRIMP constants by sex (``None`` = unknown sex).
TRIMP_CONSTANTS: dict[Sex | None, TrimpConstants] = {
    Sex.MALE: TrimpConstants(a=0.64, b=1.92, source="Banister (men)"),
    Sex.FEMALE: TrimpConstants(a=0.86, b=1.67, source="Banister (women)"),
    None: TrimpConstants(a=0.725215, b=1.795, source="Runalyze (sex unknown)"),
}


def trimp_reason(athlete: Athlete) -> str | None:
    """Why TRIMP cannot be computed for this athlete at all (``None`` when it can)."""
    if athlete.hr_rest is None or athlete.hr_max is None:
        return "athlete hr_rest/hr_max unknown"
    if athlete.hr_max <= athlete.hr_rest:
        return f"athlete hr_max ({athlete.hr_max}) must exceed hr_rest ({athlete.hr_rest})"
    return None
