"""Per-run findings: the single-run distance spike (Frandsen 2025) and the descent spike.

One pass over the athlete's runs in (local day, start time, id) order with a sliding
reference window (the runs of the previous ``spike_lookback_days`` local days plus earlier
runs of the same day): a monotonic deque gives the longest distance and a sorted list the
largest descent and the 75th percentile, so the whole pass is O(runs * log(window)).
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Sequence
from datetime import date

from loadmon.domain import Activity
from loadmon.engine.reasons import NO_BASE, NO_DISTANCE, NO_ELEVATION, WARMING_UP
from loadmon.engine.result import ActivityFinding, _new, spike_band_for

__all__ = ["run_findings", "percentile_linear"]


def percentile_linear(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks
    (Hyndman & Fan type 7, numpy's default); ``sorted_values`` must be sorted, non-empty."""
    n = len(sorted_values)
    if n == 1:
        return float(sorted_values[0])
    pos = q * (n - 1)
    lo = int(pos)
    frac = pos - lo
    if lo + 1 >= n:
        return float(sorted_values[-1])
    return sorted_values[lo] + (sorted_values[lo + 1] - sorted_values[lo]) * frac


_INF = math.inf


def run_findings(
    runs: Sequence[Activity], *, lookback_days: int, run_history_start: date | None, report_from: date | None
) -> list[ActivityFinding]:
    """Findings of ``runs`` (already filtered to counted running activities, sorted by
    (local_date, start_time, id)); only runs on or after ``report_from`` get a finding."""
    out: list[ActivityFinding] = []
    if not runs or run_history_start is None:
        return out
    warm_until = run_history_start.toordinal() + lookback_days  # first day with a full window
    report_ord = report_from.toordinal() if report_from is not None else -1
    # parallel deques instead of deques of tuples: no allocation per run
    w_day: deque[int] = deque()  # local day of every run in the window, in order
    w_descent: deque[float | None] = deque()  # and its descent
    l_dist: deque[float] = deque()  # monotonic deque of the longest run: distances strictly decreasing
    l_day: deque[int] = deque()
    l_id: deque[int] = deque()
    descents: list[float] = []  # sorted descents of the window's runs that have one
    append = out.append

    for run in runs:
        day = run.local_date.toordinal()
        oldest = day - lookback_days
        while w_day and w_day[0] < oldest:
            w_day.popleft()
            old_descent = w_descent.popleft()
            if old_descent is not None:
                del descents[bisect_left(descents, old_descent)]
        while l_day and l_day[0] < oldest:
            l_day.popleft()
            l_dist.popleft()
            l_id.popleft()

        distance = run.distance_m
        if distance is None or not 0 < distance < _INF:
            distance = None
        descent = run.elevation_loss_m
        if descent is None or not 0 <= descent < _INF:
            descent = None

        if day >= report_ord:
            warming = day < warm_until
            longest_m = l_dist[0] if l_dist else None
            # distance spike (Frandsen 2025)
            ratio = increase = band_label = hrr = ci = None
            if distance is None:
                spike_reason: str | None = NO_DISTANCE
            elif warming:
                spike_reason = WARMING_UP
            elif longest_m is None:
                spike_reason = NO_BASE
            else:
                ratio = distance / longest_m
                increase = (ratio - 1.0) * 100.0
                band = spike_band_for(ratio)
                band_label, hrr, ci = band.label, band.hrr, band.ci
                spike_reason = None
            # descent spike and the window's 75th percentile
            largest = descents[-1] if descents else None
            d_ratio = p75 = None
            if descent is None:
                d_reason: str | None = NO_ELEVATION
            elif warming:
                d_reason = WARMING_UP
            elif not largest:
                d_reason = NO_BASE
            else:
                d_ratio = descent / largest
                d_reason = None
            if warming:
                p75_reason: str | None = WARMING_UP
            elif descents:
                p75 = percentile_linear(descents, 0.75)
                p75_reason = None
            else:
                p75_reason = NO_BASE
            if descent is None:
                per_km, per_km_reason = None, NO_ELEVATION
            elif distance is None:
                per_km, per_km_reason = None, NO_DISTANCE
            else:
                per_km, per_km_reason = descent * 1000.0 / distance, None

            finding = _new(ActivityFinding)  # fast path, see loadmon.engine.result
            finding.__dict__.update(
                activity_id=run.id,
                local_date=run.local_date,
                start_time=run.start_time,
                sport=run.sport,
                name=run.name,
                distance_km=distance / 1000.0 if distance is not None else None,
                prev_runs_30d=len(w_day),
                longest_prev_30d_km=longest_m / 1000.0 if longest_m is not None else None,
                longest_prev_30d_activity_id=l_id[0] if l_id else None,
                distance_ratio=ratio,
                distance_increase_pct=increase,
                spike_band=band_label,
                spike_hrr=hrr,
                spike_hrr_ci=ci,
                spike_reason=spike_reason,
                descent_m=descent,
                descent_per_km=per_km,
                descent_per_km_reason=per_km_reason,
                largest_descent_prev_30d_m=largest,
                descent_ratio=d_ratio,
                descent_ratio_reason=d_reason,
                descent_p75_prev_30d_m=p75,
                descent_p75_reason=p75_reason,
                steep_descent_m=run.steep_descent_m if descent is not None else None,
            )
            append(finding)

        # this run joins the reference window of the runs after it
        w_day.append(day)
        w_descent.append(descent)
        if descent is not None:
            insort(descents, descent)
        if distance is not None:
            while l_dist and l_dist[-1] <= distance:
                l_dist.pop()
                l_day.pop()
                l_id.pop()
            l_dist.append(distance)
            l_day.append(day)
            l_id.append(run.id)
    return out
