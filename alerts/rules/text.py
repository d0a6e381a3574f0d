"""Small formatting and comparison helpers shared by the rules (pure)."""

from __future__ import annotations

import math
from datetime import date

__all__ = ["exceeds", "reaches", "r1", "r2", "r0", "km", "km_short", "metres", "pct", "signed_pct", "ratio",
           "weekday_date", "steep_part", "amount", "amount_short", "pct0"]

# Comparisons round to 9 decimals first so float noise (33/30 - 1 = 0.10000000000000009)
# never turns "exactly at the threshold" into "above it" (the engine does the same).
_DECIMALS = 9


def exceeds(value: float, threshold: float) -> bool:
    """``value > threshold`` after rounding both to 9 decimals."""
    return round(value, _DECIMALS) > round(threshold, _DECIMALS)


def reaches(value: float, threshold: float) -> bool:
    """``value >= threshold`` after rounding both to 9 decimals."""
    return round(value, _DECIMALS) >= round(threshold, _DECIMALS)


def r0(value: float | None) -> float | None:
    return None if value is None else float(round(value))


def r1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _trim(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def km(value: float) -> str:
    """``38.2 km`` (one decimal, always shown)."""
    return f"{value:.1f} km"


def km_short(value: float) -> str:
    """``61 km``, ``5.8 km`` (for titles: at most one decimal, a trailing ``.0`` dropped)."""
    return _trim(value, 1) + " km"


def amount(value: float, unit: str) -> str:
    """A load in its channel's unit: ``38.2 km``, ``480 m``, ``95 min``, ``120 trimp``."""
    if unit == "km":
        return km(value)
    if unit == "m":
        return metres(value)
    return f"{value:.0f} {unit}"


def amount_short(value: float, unit: str) -> str:
    """For titles: ``53 km``, ``480 m``, ``95 min``."""
    return km_short(value) if unit == "km" else amount(value, unit)


def metres(value: float) -> str:
    """``480 m``."""
    return f"{value:.0f} m"


def pct(value: float) -> str:
    """``24%``, ``10.5%`` (at most one decimal, trailing zero dropped)."""
    if not math.isfinite(value):
        return "n/a"
    return _trim(value, 1) + "%"


def pct0(value: float) -> str:
    """``118%`` (whole percent, for titles)."""
    return f"{value:.0f}%"


def signed_pct(value: float) -> str:
    return ("+" if value >= 0 else "") + pct(value)


def ratio(value: float) -> str:
    """``1.42``."""
    return f"{value:.2f}"


def weekday_date(day: date) -> str:
    """``Sun 2026-11-22``."""
    return f"{day.strftime('%a')} {day.isoformat()}"


def steep_part(steep_descent_m: float | None) -> str:
    """", 120 m of it at -8 % or steeper" when some of the descent was steep; "" when none was or
    it was not measured (no distance + altitude stream)."""
    if steep_descent_m is None or round(steep_descent_m) <= 0:
        return ""
    return f", {metres(steep_descent_m)} of it at -8 % or steeper"
