"""The daily metrics of one channel, computed column by column in O(days).

Input: the channel's daily loads in integer micro-units (load * 1e6, rounded), one per day
from the athlete's first day to the last day, and the index of the channel's own first day.
Integer prefix sums make every window sum exact: a window of zero-load days sums to exactly 0
(so "no base" is an exact decision, never a float residue), equal loads give exactly equal
sums, and monotony's variance ``n * sum(x^2) - sum(x)^2`` is an exact integer (so "no
variation" is exact too). Each window is one subtraction of two prefix sums; the EWMAs are
one pass each. Nothing here is O(days * window).

Output: a dict of columns (lists, one entry per day) keyed by :class:`DayMetrics` field names.
"""

from __future__ import annotations

import math
from itertools import accumulate
from math import sqrt
from operator import mul, sub, truediv

from loadmon.engine.reasons import NO_BASE, NO_VARIATION, WARMING_UP
from loadmon.engine.settings import EngineSettings

__all__ = ["SCALE", "EWMA_EPSILON", "channel_columns", "pmc_decay"]

#: Loads are held as integers in millionths of their unit (1 mm, 1 ms of a minute, ...).
SCALE = 1_000_000
#: A chronic EWMA below one quantum (1e-6 of the unit) counts as zero ("no base").
EWMA_EPSILON = 1e-6


def pmc_decay(days: int, convention: str) -> tuple[float, float]:
    """(keep, gain) of one PMC step: ``x_t = keep * x_{t-1} + gain * load_t``."""
    if convention == "exp":
        keep = math.exp(-1.0 / days)
        return keep, 1.0 - keep
    gain = 2.0 / (days + 1)
    return 1.0 - gain, gain


def _ewma(values: list[float], keep: float, gain: float, seed: float) -> list[float]:
    """``e_t = keep * e_{t-1} + gain * x_t`` with ``e_{-1} = seed``."""
    out = list(accumulate(values, lambda prev, x: keep * prev + gain * x, initial=seed))
    del out[0]
    return out


def _warm(column: list, reasons: list, k: int) -> None:
    """Blank the first ``k`` entries of a ratio column with the warming-up reason."""
    if k > 0:
        column[:k] = [None] * k
        reasons[:k] = [WARMING_UP] * k


def _zeros(values: list) -> list[int]:
    """Positions of the zeros of ``values`` (scanned by ``list.index``, i.e. at C speed)."""
    out: list[int] = []
    i = -1
    index = values.index
    try:
        while True:
            i = index(0, i + 1)
            out.append(i)
    except ValueError:
        return out


def _ratio(num: list[int], den: list[int], zeros: list[int], reason: str) -> tuple[list, list]:
    """``num[i] / den[i]`` with ``None`` + ``reason`` where ``den[i] == 0`` (given as ``zeros``)."""
    n = len(den)
    reasons: list[str | None] = [None] * n
    if not zeros:
        return list(map(truediv, num, den)), reasons
    den = den.copy()
    for i in zeros:
        den[i] = 1
    out: list[float | None] = list(map(truediv, num, den))
    for i in zeros:
        out[i] = None
        reasons[i] = reason
    return out, reasons


def channel_columns(q: list[int], start: int, settings: EngineSettings) -> dict[str, list]:
    """Every daily metric of one channel.

    ``q``: daily loads in micro-units, index 0 = the athlete's first day. ``start``: index
    of the channel's first day with data (its history start); earlier days are zero and
    count as unknown history. Lists are built with ``map`` over C-level operators wherever
    possible (the budget is ~10 years x 5 channels in a few milliseconds).
    """
    n = len(q)
    ad = settings.acute_days
    cd = settings.chronic_days
    ud = cd - ad
    pad = max(cd, 2 * ad)
    qp = [0] * pad + q
    s = list(accumulate(qp, initial=0))
    s2 = list(accumulate(map(mul, qp, qp), initial=0))
    # window of width w ending at day i (position p = pad + i): s[p + 1] - s[p + 1 - w]
    end = s[pad + 1:]
    a_lag = s[pad + 1 - ad: pad + 1 - ad + n]
    p_lag = s[pad + 1 - 2 * ad: pad + 1 - 2 * ad + n]
    c_lag = s[pad + 1 - cd: pad + 1 - cd + n]
    acute = list(map(sub, end, a_lag))
    previous = list(map(sub, a_lag, p_lag))
    chronic = list(map(sub, end, c_lag))
    uncoupled = list(map(sub, a_lag, c_lag))
    sq = list(map(sub, s2[pad + 1:], s2[pad + 1 - ad: pad + 1 - ad + n]))

    fs = float(SCALE)
    to_float = fs.__rtruediv__  # x -> x / 1e6, correctly rounded
    load = list(map(to_float, q))
    acute_f = list(map(to_float, acute))
    start = min(start, n)
    history_days = [0] * start + list(range(1, n - start + 1))
    k_ratio = min(n, start + settings.warmup_days - 1)
    k_ramp = min(n, start + settings.ramp_warmup_days - 1)
    warming_up = [True] * k_ratio + [False] * (n - k_ratio)

    # ramp % = (A / P - 1) * 100 = 100 * A / P - 100
    ramp, ramp_reason = _ratio(list(map((100).__mul__, acute)), previous, _zeros(previous), NO_BASE)
    ramp = [None if r is None else r - 100.0 for r in ramp]
    _warm(ramp, ramp_reason, k_ramp)

    chronic_28d = list(map((cd * fs).__rtruediv__, chronic))
    chronic_weekly = list(map((cd * fs / 7.0).__rtruediv__, chronic))
    chronic_unc_weekly = list(map((ud * fs / 7.0).__rtruediv__, uncoupled))
    chronic_reason: list[str | None] = [None] * n
    _warm(chronic_28d, chronic_reason, k_ratio)
    chronic_weekly[:k_ratio] = [None] * k_ratio
    chronic_unc_weekly[:k_ratio] = [None] * k_ratio

    # rolling ACWRs: (A / ad) / (C / cd) = (A * cd) / (C * ad), integer products (exact),
    # one correctly rounded division
    coupled, coupled_reason = _ratio(
        list(map(cd.__mul__, acute)), list(map(ad.__mul__, chronic)), _zeros(chronic), NO_BASE)
    _warm(coupled, coupled_reason, k_ratio)
    unc, unc_reason = _ratio(
        list(map(ud.__mul__, acute)), list(map(ad.__mul__, uncoupled)), _zeros(uncoupled), NO_BASE)
    _warm(unc, unc_reason, k_ratio)

    # Williams 2017 EWMA, lambda = 2/(N+1), seeded (as the value of the day before the
    # channel's first day) with the mean daily load of the channel's warm-up window.
    own = load[start:]
    seed_window = own[: settings.warmup_days]
    seed = math.fsum(seed_window) / len(seed_window) if seed_window else 0.0
    la, lc = 2.0 / (ad + 1), 2.0 / (cd + 1)
    ea = _ewma(own, 1.0 - la, la, seed)
    ec = _ewma(own, 1.0 - lc, lc, seed)
    pre: list = [None] * start
    if not ec or min(ec) >= EWMA_EPSILON:
        ewma_ratio = pre + list(map(truediv, ea, ec))
        ewma_ratio_reason: list[str | None] = [None] * n
    else:
        ewma_ratio = pre + [x / y if y >= EWMA_EPSILON else None for x, y in zip(ea, ec)]
        ewma_ratio_reason = pre + [None if y >= EWMA_EPSILON else NO_BASE for y in ec]
    _warm(ewma_ratio, ewma_ratio_reason, k_ratio)
    e_acute = pre + ea
    e_chronic = pre + ec
    ewma_reason: list[str | None] = [None] * n
    _warm(e_acute, ewma_reason, k_ratio)
    e_chronic[:k_ratio] = [None] * k_ratio

    # Performance-management chart: CTL/ATL start at 0 the day before the athlete's first day.
    keep_c, gain_c = pmc_decay(settings.ctl_days, settings.pmc_convention)
    keep_a, gain_a = pmc_decay(settings.atl_days, settings.pmc_convention)
    ctl = _ewma(load, keep_c, gain_c, 0.0)
    atl = _ewma(load, keep_a, gain_a, 0.0)
    form = [0.0, *map(sub, ctl, atl)]  # form_t = CTL_{t-1} - ATL_{t-1}
    del form[-1]
    ctl_ramp = list(map(sub, ctl, [0.0] * 7 + ctl))

    # Foster monotony: mean / population SD of the week's daily loads = A / sqrt(n*Q - A^2);
    # n*Q - A^2 is an exact integer, so a week of equal loads is exactly "no variation".
    var_n2 = list(map(sub, map(ad.__mul__, sq), map(mul, acute, acute)))
    flat = _zeros(var_n2)
    for i in flat:
        var_n2[i] = 1
    monotony: list[float | None] = list(map(truediv, acute, map(sqrt, var_n2)))
    strain: list[float | None] = list(map(mul, acute_f, monotony))
    monotony_reason: list[str | None] = [None] * n
    for i in flat:
        monotony[i] = strain[i] = None
        monotony_reason[i] = NO_VARIATION
    _warm(monotony, monotony_reason, k_ratio)
    strain[:k_ratio] = [None] * k_ratio
    strain_reason = monotony_reason.copy()

    return {
        "load": load,
        "history_days": history_days,
        "warming_up": warming_up,
        "acute_7d": acute_f,
        "previous_7d": list(map(to_float, previous)),
        "ramp_pct": ramp,
        "ramp_reason": ramp_reason,
        "chronic_28d": chronic_28d,
        "chronic_weekly": chronic_weekly,
        "chronic_uncoupled_weekly": chronic_unc_weekly,
        "chronic_reason": chronic_reason,
        "acwr_rolling_coupled": coupled,
        "acwr_rolling_coupled_reason": coupled_reason,
        "acwr_rolling_uncoupled": unc,
        "acwr_rolling_uncoupled_reason": unc_reason,
        "acwr_ewma": ewma_ratio,
        "acwr_ewma_reason": ewma_ratio_reason,
        "ewma_acute": e_acute,
        "ewma_chronic": e_chronic,
        "ewma_reason": ewma_reason,
        "fitness": ctl,
        "fatigue": atl,
        "form": form,
        "ctl_ramp": ctl_ramp,
        "monotony": monotony,
        "monotony_reason": monotony_reason,
        "strain": strain,
        "strain_reason": strain_reason,
    }
