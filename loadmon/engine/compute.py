"""``compute_load``: activities + athlete + settings in, daily series and run findings out.

Which activities count: those of the athlete that are not ``deleted`` and have no
``duplicate_of``, on local days up to ``until``. Days are ``Activity.local_date`` (storage
computes it in the athlete's zone with :func:`loadmon.engine.days.local_date_of`).

Days and history: the athlete's history starts on the local day of the first counted
activity (``LoadResult.history_start``). Every channel is computed from that day to
``until`` (default: the last activity's day; pass today to get the zero-load days up to
today). Days without activity are zero-load days. A channel's own history starts on its first
day with data (for distance/duration/descent this is normally the athlete's first day; TRIMP
and sRPE start when heart rate / RPE is first recorded, since earlier load is unknown, not
zero). ``since`` only trims the output (never before ``history_start``): the values of a day
never depend on ``since``, nor on activities after that day (no look-ahead: a reported value
of day t uses loads up to t only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from types import MappingProxyType

from loadmon.domain import Activity, Athlete
from loadmon.engine.channels import (
    CHANNEL_UNITS, CHANNELS, DESCENT, DISTANCE, DURATION, SRPE, TRIMP, TRIMP_CONSTANTS, trimp_reason,
)
from loadmon.engine.findings import run_findings
from loadmon.engine.result import COLUMN_NAMES, ChannelSeries, LoadResult
from loadmon.engine.settings import EngineSettings
from loadmon.engine.windows import SCALE, channel_columns

__all__ = ["compute_load"]

_DEFAULT_SETTINGS = EngineSettings()
_isfinite = math.isfinite


def _unavailable(name: str, reason: str, counted: int = 0, missing: int = 0) -> ChannelSeries:
    return ChannelSeries(
        name=name, unit=CHANNEL_UNITS[name], available=False, reason=reason, history_start=None,
        first_day=None, last_day=None, activities_counted=counted, activities_missing=missing,
        columns=MappingProxyType({}),
    )


def compute_load(
    activities: Sequence[Activity],
    athlete: Athlete,
    settings: EngineSettings = _DEFAULT_SETTINGS,
    *,
    until: date | None = None,
    since: date | None = None,
) -> LoadResult:
    """Every daily metric of every channel, and a finding per run, for one athlete.

    ``activities``: the athlete's activities in any order (deleted and duplicate ones are
    skipped; an activity of another athlete is a ``ValueError``). ``until``: last day of the
    series (inclusive; activities after it are ignored). ``since``: first day to report
    (clamped to the history start). Pure: no I/O, no clock.
    """
    if since is not None and until is not None and since > until:
        raise ValueError(f"since ({since.isoformat()}) is after until ({until.isoformat()})")
    running = settings.running_sports
    counted: list[Activity] = []
    for a in activities:
        if a.athlete_id != athlete.id:
            raise ValueError(f"activity {a.id}: belongs to athlete {a.athlete_id}, not {athlete.id}")
        if a.deleted or a.duplicate_of is not None:
            continue
        if until is not None and a.local_date > until:
            continue
        counted.append(a)

    if not counted:
        channels = {name: _unavailable(name, "no activities") for name in CHANNELS}
        return LoadResult(
            athlete_id=athlete.id, first_day=since, last_day=until, history_start=None, settings=settings,
            channels=MappingProxyType(channels), findings=(), findings_by_activity=MappingProxyType({}),
        )

    first_ord = min(a.local_date for a in counted).toordinal()
    last_ord = until.toordinal() if until is not None else max(a.local_date for a in counted).toordinal()
    n = last_ord - first_ord + 1
    history_start = date.fromordinal(first_ord)
    out_start = max(first_ord, since.toordinal()) if since is not None else first_ord
    out_start = min(out_start, last_ord + 1)  # empty when since is after the last activity day and no until

    # daily loads, accumulated as floats then held as integer micro-units
    dist = [0.0] * n
    dur = [0.0] * n
    desc = [0.0] * n
    trimp = [0.0] * n
    srpe = [0.0] * n
    has = {name: [False] * n for name in CHANNELS}
    n_counted = dict.fromkeys(CHANNELS, 0)
    n_missing = dict.fromkeys(CHANNELS, 0)
    hr_problem = trimp_reason(athlete)
    if hr_problem is None:
        hr_rest = float(athlete.hr_rest)  # type: ignore[arg-type]
        hr_span = float(athlete.hr_max) - hr_rest  # type: ignore[operator]
        tc = TRIMP_CONSTANTS.get(athlete.sex, TRIMP_CONSTANTS[None])
        t_a, t_b = tc.a, tc.b
    runs: list[Activity] = []
    exp = math.exp

    for a in counted:
        i = a.local_date.toordinal() - first_ord
        is_run = a.sport in running
        # minutes: moving time, elapsed when moving is missing or zero
        mv = a.moving_time_s
        if mv is not None and _isfinite(mv) and mv > 0:
            minutes = mv / 60.0
        else:
            el = a.elapsed_time_s
            if el is not None and _isfinite(el) and el >= 0:
                minutes = el / 60.0
            elif mv is not None and _isfinite(mv) and mv >= 0:
                minutes = mv / 60.0
            else:
                minutes = None
        if minutes is None:
            n_missing[DURATION] += 1
        else:
            dur[i] += minutes
            has[DURATION][i] = True
            n_counted[DURATION] += 1
        if is_run:
            runs.append(a)
            d = a.distance_m
            if d is not None and _isfinite(d) and d >= 0:
                dist[i] += d / 1000.0
                has[DISTANCE][i] = True
                n_counted[DISTANCE] += 1
            else:
                n_missing[DISTANCE] += 1
            e = a.elevation_loss_m
            if e is not None and _isfinite(e) and e >= 0:
                desc[i] += e
                has[DESCENT][i] = True
                n_counted[DESCENT] += 1
            else:
                n_missing[DESCENT] += 1
        hr = a.avg_hr
        if hr_problem is None and hr is not None and minutes is not None and _isfinite(hr) and hr > 0:
            hrr = (hr - hr_rest) / hr_span
            hrr = 0.0 if hrr < 0.0 else 1.0 if hrr > 1.0 else hrr
            trimp[i] += minutes * hrr * t_a * exp(t_b * hrr)
            has[TRIMP][i] = True
            n_counted[TRIMP] += 1
        else:
            n_missing[TRIMP] += 1
        rpe = a.perceived_exertion
        if rpe is not None and minutes is not None and _isfinite(rpe) and 0 <= rpe <= 10:
            srpe[i] += rpe * minutes
            has[SRPE][i] = True
            n_counted[SRPE] += 1
        else:
            n_missing[SRPE] += 1

    no_data = {
        DISTANCE: "no running activities with a distance",
        DURATION: "no activities with a duration",
        DESCENT: "no running activities with elevation-loss data",
        TRIMP: hr_problem or "no activities with an average heart rate",
        SRPE: "no activities with a perceived exertion (RPE)",
    }
    first_day = date.fromordinal(out_start)
    last_day = date.fromordinal(last_ord)
    cut = out_start - first_ord
    channels: dict[str, ChannelSeries] = {}
    for name, loads in ((DISTANCE, dist), (DURATION, dur), (DESCENT, desc), (TRIMP, trimp), (SRPE, srpe)):
        flags = has[name]
        try:
            start = flags.index(True)
        except ValueError:
            channels[name] = _unavailable(name, no_data[name], n_counted[name], n_missing[name])
            continue
        q = [round(x * SCALE) for x in loads]
        cols = channel_columns(q, start, settings)
        columns = MappingProxyType({k: tuple(cols[k][cut:]) for k in COLUMN_NAMES})
        channels[name] = ChannelSeries(
            name=name, unit=CHANNEL_UNITS[name], available=True, reason=None,
            history_start=date.fromordinal(first_ord + start), first_day=first_day, last_day=last_day,
            activities_counted=n_counted[name], activities_missing=n_missing[name], columns=columns,
        )

    runs.sort(key=lambda r: (r.local_date, r.start_time, r.id))
    findings = tuple(run_findings(
        runs, lookback_days=settings.spike_lookback_days,
        run_history_start=runs[0].local_date if runs else None, report_from=first_day,
    ))
    return LoadResult(
        athlete_id=athlete.id, first_day=first_day, last_day=last_day, history_start=history_start,
        settings=settings, channels=MappingProxyType(channels), findings=findings,
        findings_by_activity=MappingProxyType({f.activity_id: f for f in findings}),
    )
