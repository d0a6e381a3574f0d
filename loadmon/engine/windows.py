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
from itertools import accumulate, repeat
from math import sqrt
from operator import mul, sub, truediv
from typing import Any

from loadmon.engine.reasons import NO_BASE, NO_VARIATION, WARMING_UP
from loadmon.engine.settings import EngineSettings

__all__ = ["SCALE", "EWMA_EPSILON", "channel_columns", "pmc_decay"]

#: Loads are held as integers in millionths of their unit (1 mm, 1 ms of a minute, ...).
SCALE = 1_000_000
#: A chronic EWMA below one quantum (1e-6 of the unit) counts as zero ("no base"). The EWMA
#: ratio is also "no base" on every day whose chronic window (28 days) holds no load at all:
#: the EWMAs are then only decaying residues of older load.
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


def _warm(column: list[Any], reasons: list[Any], k: int) -> None:
    """Blank the first ``k`` entries of a ratio column with the warming-up reason."""
    if k > 0:
        column[:k] = [None] * k
        reasons[:k] = [WARMING_UP] * k


def _zeros(values: list[Any]) -> list[int]:
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


def _div(values: list[Any], divisor: float) -> list[Any]:
    return list(map(truediv, values, repeat(divisor, len(values))))


def _ratio(num: list[Any], den: list[Any], reason: str, scale: float = 1.0, shift: float = 0.0) -> tuple[list[Any], list[Any]]:
    """``num[i] / den[i] * scale + shift``, with ``None`` + ``reason`` where ``den[i] == 0``."""
    n = len(den)
    reasons: list[str | None] = [None] * n
    zeros = _zeros(den)
    if zeros:
        den = den.copy()
        for i in zeros:
            den[i] = 1
    values = map(truediv, num, den)
    if scale != 1.0:
        values = map(scale.__mul__, values)
    if shift:
        values = map(shift.__add__, values)
    out: list[Any] = list(values)
    for i in zeros:
        out[i] = None
        reasons[i] = reason
    return out, reasons


def channel_columns(q: list[int], start: int, settings: EngineSettings, cut: int = 0) -> dict[str, list[Any]]:
    """Every daily metric of one channel, for the days ``cut``..``len(q) - 1``.

    ``q``: daily loads in micro-units, index 0 = the athlete's first day. ``start``: index
    of the channel's first day with data (its history start); earlier days are zero and
    count as unknown history. ``cut``: first day to output (the recurrences - prefix sums,
    EWMAs, CTL/ATL - always run over the whole history, so a day's values never depend on
    ``cut``). Columns are built with ``map`` over C-level operators.
    """
    n_all = len(q)
    cut = min(max(cut, 0), n_all)
    n = n_all - cut
    start = min(start, n_all)
    ad = settings.acute_days
    cd = settings.chronic_days
    ud = cd - ad
    pad = max(cd, 2 * ad)
    qp = [0] * pad + q
    s = list(accumulate(qp, initial=0))
    # window of width w ending at day j (position p = pad + j): s[p + 1] - s[p + 1 - w]
    e0 = pad + 1 + cut
    end = s[e0:]
    a_lag = s[e0 - ad: e0 - ad + n]
    p_lag = s[e0 - 2 * ad: e0 - 2 * ad + n]
    c_lag = s[e0 - cd: e0 - cd + n]
    acute = list(map(sub, end, a_lag))
    previous = list(map(sub, a_lag, p_lag))
    chronic = list(map(sub, end, c_lag))
    uncoupled = list(map(sub, a_lag, c_lag))

    fs = float(SCALE)
    load_all = _div(q, fs)  # x / 1e6, correctly rounded
    load = load_all[cut:] if cut else load_all
    acute_f = _div(acute, fs)

    # warm-up, in output positions: day j has max(0, j - start + 1) days of history
    h0 = cut - start + 1
    if h0 >= 1:
        history_days = list(range(h0, h0 + n))
    else:
        zeros = min(n, 1 - h0)
        history_days = [0] * zeros + list(range(1, n - zeros + 1))
    k_ratio = min(n, max(0, start + settings.warmup_days - 1 - cut))
    k_ramp = min(n, max(0, start + settings.ramp_warmup_days - 1 - cut))
    warming_up = [True] * k_ratio + [False] * (n - k_ratio)
    blank: list[Any] = [None] * k_ratio

    # weekly ramp % = (A / P - 1) * 100
    ramp, ramp_reason = _ratio(acute, previous, NO_BASE, 100.0, -100.0)
    _warm(ramp, ramp_reason, k_ramp)

    chronic_28d = _div(chronic, cd * fs)
    chronic_weekly = _div(chronic, cd * fs / 7.0)
    chronic_unc_weekly = _div(uncoupled, ud * fs / 7.0)
    chronic_reason: list[str | None] = [None] * n
    _warm(chronic_28d, chronic_reason, k_ratio)
    chronic_weekly[:k_ratio] = blank
    chronic_unc_weekly[:k_ratio] = blank

    # rolling ACWRs: (A / ad) / (C / cd) = (A / C) * (cd / ad); uncoupled (A / U) * (ud / ad)
    coupled, coupled_reason = _ratio(acute, chronic, NO_BASE, cd / ad)
    _warm(coupled, coupled_reason, k_ratio)
    unc, unc_reason = _ratio(acute, uncoupled, NO_BASE, ud / ad)
    _warm(unc, unc_reason, k_ratio)

    # Williams 2017 EWMA, lambda = 2/(N+1), seeded (as the value of the day before the
    # channel's first day) with the mean daily load of the channel's warm-up window.
    own = load_all[start:] if start else load_all
    seed_window = own[: settings.warmup_days]
    seed = math.fsum(seed_window) / len(seed_window) if seed_window else 0.0
    la, lc = 2.0 / (ad + 1), 2.0 / (cd + 1)
    ea = _ewma(own, 1.0 - la, la, seed)
    ec = _ewma(own, 1.0 - lc, lc, seed)
    # output positions: own index = cut + i - start
    skip = max(0, cut - start)
    ea = ea[skip:] if skip else ea
    ec = ec[skip:] if skip else ec
    pre: list[Any] = [None] * (n - len(ea))
    if not ec or min(ec) >= EWMA_EPSILON:
        ewma_ratio = pre + list(map(truediv, ea, ec))
        ewma_ratio_reason: list[str | None] = [None] * n
    else:
        ewma_ratio = pre + [x / y if y >= EWMA_EPSILON else None for x, y in zip(ea, ec)]
        ewma_ratio_reason = pre + [None if y >= EWMA_EPSILON else NO_BASE for y in ec]
    # a vanishing base is no base: with no load at all in the chronic window the EWMAs are only
    # decaying residues (a ratio of 2.5e-19 is not "low"), so the EWMA ratio says "no base" there,
    # the same answer as the rolling ratios give for the same days
    for i in _zeros(chronic):
        ewma_ratio[i] = None
        ewma_ratio_reason[i] = NO_BASE
    _warm(ewma_ratio, ewma_ratio_reason, k_ratio)
    e_acute = pre + ea if pre else ea
    e_chronic = pre + ec if pre else ec
    ewma_reason: list[str | None] = [None] * n
    _warm(e_acute, ewma_reason, k_ratio)
    e_chronic[:k_ratio] = blank

    # Performance-management chart: CTL/ATL start at 0 the day before the athlete's first day.
    keep_c, gain_c = pmc_decay(settings.ctl_days, settings.pmc_convention)
    keep_a, gain_a = pmc_decay(settings.atl_days, settings.pmc_convention)
    ctl_all = _ewma(load_all, keep_c, gain_c, 0.0)
    atl_all = _ewma(load_all, keep_a, gain_a, 0.0)
    # form_j = CTL_{j-1} - ATL_{j-1} (0 on the first day); ctl_ramp_j = CTL_j - CTL_{j-7}
    if cut:
        form = list(map(sub, ctl_all[cut - 1: n_all - 1], atl_all[cut - 1: n_all - 1]))
        ctl, atl = ctl_all[cut:], atl_all[cut:]
    else:
        form = [0.0, *map(sub, ctl_all, atl_all)]
        del form[-1]
        ctl, atl = ctl_all, atl_all
    ctl_ramp = list(map(sub, ctl, ([0.0] * 7 + ctl_all)[cut: cut + n]))

    # Foster monotony: mean / population SD of the week's daily loads = A / sqrt(n*Q - A^2);
    # n*Q - A^2 is an exact integer, so a week of equal loads is exactly "no variation".
    qw = qp[pad - ad + 1 + cut:]  # loads from day cut - ad + 1 on
    s2 = list(accumulate(map(mul, qw, qw), initial=0))
    sq = map(sub, s2[ad:], s2[: n])
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
    strain[:k_ratio] = blank

    return {
        "load": load,
        "load_reason": [None] * n,
        "history_days": history_days,
        "warming_up": warming_up,
        "acute_7d": acute_f,
        "previous_7d": _div(previous, fs),
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
        "strain_reason": monotony_reason.copy(),
    }
