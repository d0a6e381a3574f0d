"""``compute_load``: activities + athlete + settings in, daily series and run findings out.

Which activities count: those of the athlete that are not ``deleted`` nor ``excluded`` and
have no ``duplicate_of``, on local days up to ``until``. Days are ``Activity.local_date`` (storage
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
from collections.abc import Collection, Sequence
from datetime import date
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from loadmon.domain import Activity, Athlete
from loadmon.engine.channels import (
    CHANNEL_UNITS,
    CHANNELS,
    DESCENT,
    DISTANCE,
    DURATION,
    SRPE,
    TRIMP,
    TRIMP_CONSTANTS,
    trimp_reason,
)
from loadmon.engine.findings import run_findings
from loadmon.engine.reasons import NO_HEART_RATE, NOT_COMPUTED
from loadmon.engine.result import COLUMN_NAMES, ActivityFinding, ChannelSeries, LoadResult
from loadmon.engine.settings import EngineSettings
from loadmon.engine.windows import SCALE, channel_columns

__all__ = ["compute_load", "activity_finding"]

_DEFAULT_SETTINGS = EngineSettings()


_activity_id = attrgetter("id")
_local_date = attrgetter("local_date")


def _timestamp(a: Activity) -> float:
    return a.start_time.timestamp()


def _unavailable(name: str, reason: str, counted: int = 0, missing: int = 0) -> ChannelSeries:
    return ChannelSeries(
        name=name, unit=CHANNEL_UNITS[name], available=False, reason=reason, history_start=None,
        first_day=None, last_day=None, activities_counted=counted, activities_missing=missing,
        columns=MappingProxyType({}),
    )


def _unknown_loads(cols: dict[str, list[Any]], days: set[int], cut: int) -> None:
    """A TRIMP day whose activities all lack heart rate: load ``None``, "no heart rate" (not 0)."""
    load, reason = cols["load"], cols["load_reason"]
    for i in days:
        if i >= cut:
            load[i - cut] = None
            reason[i - cut] = NO_HEART_RATE


def compute_load(
    activities: Sequence[Activity],
    athlete: Athlete,
    settings: EngineSettings = _DEFAULT_SETTINGS,
    *,
    until: date | None = None,
    since: date | None = None,
    channels: Collection[str] | None = None,
    findings: bool = True,
) -> LoadResult:
    """Every daily metric of every channel, and a finding per run, for one athlete.

    ``activities``: the athlete's activities in any order (deleted, excluded and duplicate ones
    are skipped; an activity of another athlete is a ``ValueError``). ``until``: last day of the
    series (inclusive; activities after it are ignored). ``since``: first day to report
    (clamped to the history start). ``channels``: compute only these (the others are unavailable,
    "not computed"); ``findings=False``: no run findings. Both only leave work out: a computed
    channel's values are the same (channels never depend on each other, nor on the findings).
    Pure: no I/O, no clock.
    """
    if since is not None and until is not None and since > until:
        raise ValueError(f"since ({since.isoformat()}) is after until ({until.isoformat()})")
    wanted = None if channels is None else frozenset(channels)
    running = settings.running_sports
    counted: list[Activity] = []
    ords: list[int] = []
    until_ord = until.toordinal() if until is not None else None
    athlete_id = athlete.id
    for a in activities:
        if a.athlete_id != athlete_id:
            raise ValueError(f"activity {a.id}: belongs to athlete {a.athlete_id}, not {athlete_id}")
        if a.deleted or a.excluded or a.duplicate_of is not None:
            continue
        o = a.local_date.toordinal()
        if until_ord is not None and o > until_ord:
            continue
        counted.append(a)
        ords.append(o)

    if not counted:
        empty = {name: _unavailable(name, "no activities") for name in CHANNELS}
        return LoadResult(
            athlete_id=athlete.id, first_day=since, last_day=until, history_start=None, settings=settings,
            channels=MappingProxyType(empty), findings=(), findings_by_activity=MappingProxyType({}),
            timezone=athlete.timezone,
        )

    first_ord = min(ords)
    last_ord = until_ord if until_ord is not None else max(ords)
    n = last_ord - first_ord + 1
    history_start = date.fromordinal(first_ord)
    out_start = max(first_ord, since.toordinal()) if since is not None else first_ord
    out_start = min(out_start, last_ord + 1)  # empty when since is after the last day

    # Daily loads in integer micro-units (each activity's load rounded to 1e-6 of the unit).
    dist = [0] * n
    dur = [0] * n
    desc = [0] * n
    trimp = [0] * n
    srpe = [0] * n
    c_dist = c_dur = c_desc = c_trimp = c_srpe = 0
    m_dist = m_dur = m_desc = 0
    f_dist = f_dur = f_desc = f_trimp = f_srpe = n
    hr_problem = trimp_reason(athlete)
    hr_ok = hr_problem is None
    if hr_ok:
        assert athlete.hr_rest is not None and athlete.hr_max is not None  # trimp_reason checked both
        hr_rest = float(athlete.hr_rest)
        hr_span = float(athlete.hr_max) - hr_rest
        tc = TRIMP_CONSTANTS.get(athlete.sex, TRIMP_CONSTANTS[None])
        t_a, t_b = tc.a, tc.b
    no_hr_days: set[int] = set()  # days with an activity lacking avg HR (TRIMP unknown unless another had HR)
    hr_days: set[int] = set()
    runs: list[Activity] = []
    exp = math.exp
    inf = math.inf

    for a, o in zip(counted, ords):
        i = o - first_ord
        # minutes: moving time; elapsed time when moving time is missing or zero
        mv = a.moving_time_s
        if mv is not None and 0 < mv < inf:
            minutes = mv / 60.0
        else:
            el = a.elapsed_time_s
            if el is not None and 0 <= el < inf:
                minutes = el / 60.0
            elif mv is not None and mv == 0:
                minutes = 0.0
            else:
                minutes = None
        if minutes is None:
            m_dur += 1
        else:
            dur[i] += round(minutes * SCALE)
            c_dur += 1
            if i < f_dur:
                f_dur = i
        if a.sport in running:
            runs.append(a)
            d = a.distance_m
            if d is not None and 0 <= d < inf:
                dist[i] += round(d * (SCALE / 1000.0))
                c_dist += 1
                if i < f_dist:
                    f_dist = i
            else:
                m_dist += 1
            e = a.elevation_loss_m
            if e is not None and 0 <= e < inf:
                desc[i] += round(e * SCALE)
                c_desc += 1
                if i < f_desc:
                    f_desc = i
            else:
                m_desc += 1
        if minutes is not None:
            hr = a.avg_hr
            if hr_ok and hr is not None and 0 < hr < inf:
                hrr = (hr - hr_rest) / hr_span
                hrr = 0.0 if hrr < 0.0 else 1.0 if hrr > 1.0 else hrr
                trimp[i] += round(minutes * hrr * t_a * exp(t_b * hrr) * SCALE)
                hr_days.add(i)
                c_trimp += 1
                if i < f_trimp:
                    f_trimp = i
            elif hr_ok:
                no_hr_days.add(i)
            rpe = a.perceived_exertion
            if rpe is not None and 0 <= rpe <= 10:
                srpe[i] += round(rpe * minutes * SCALE)
                c_srpe += 1
                if i < f_srpe:
                    f_srpe = i

    n_all = len(counted)
    stats = {
        DISTANCE: (dist, f_dist, c_dist, m_dist),
        DURATION: (dur, f_dur, c_dur, m_dur),
        DESCENT: (desc, f_desc, c_desc, m_desc),
        TRIMP: (trimp, f_trimp, c_trimp, n_all - c_trimp),
        SRPE: (srpe, f_srpe, c_srpe, n_all - c_srpe),
    }
    no_data = {
        DISTANCE: "no running activities with a distance",
        DURATION: "no activities with a duration",
        DESCENT: "no running activities with elevation-loss data",
        TRIMP: hr_problem or "no activities with an average heart rate",
        SRPE: "no activities with a perceived exertion (RPE)",
    }
    first_day = date.fromordinal(out_start)
    last_day = date.fromordinal(last_ord)
    # findings first: they allocate many small objects, best done before the big columns exist
    # (local day, start time, id) order by three stable sorts on scalar keys (much faster than
    # comparing tuples of aware datetimes)
    runs.sort(key=_activity_id)
    runs.sort(key=_timestamp)
    runs.sort(key=_local_date)
    found = tuple(run_findings(
        runs, lookback_days=settings.spike_lookback_days,
        run_history_start=runs[0].local_date if runs else None, report_from=first_day,
    )) if findings else ()
    cut = out_start - first_ord
    series: dict[str, ChannelSeries] = {}
    for name in CHANNELS:
        q, start, n_counted, n_missing = stats[name]
        if wanted is not None and name not in wanted:
            series[name] = _unavailable(name, NOT_COMPUTED, n_counted, n_missing)
            continue
        if start >= n:
            series[name] = _unavailable(name, no_data[name], n_counted, n_missing)
            continue
        cols = channel_columns(q, start, settings, cut)
        if name == TRIMP:
            _unknown_loads(cols, no_hr_days - hr_days, cut)
        columns = MappingProxyType({k: tuple(cols[k]) for k in COLUMN_NAMES})
        series[name] = ChannelSeries(
            name=name, unit=CHANNEL_UNITS[name], available=True, reason=None,
            history_start=date.fromordinal(first_ord + start), first_day=first_day, last_day=last_day,
            activities_counted=n_counted, activities_missing=n_missing, columns=columns,
        )

    return LoadResult(
        athlete_id=athlete.id, first_day=first_day, last_day=last_day, history_start=history_start,
        settings=settings, channels=MappingProxyType(series), findings=found,
        findings_by_activity=MappingProxyType({f.activity_id: f for f in found}), timezone=athlete.timezone,
    )


def activity_finding(
    activities: Sequence[Activity],
    athlete: Athlete,
    activity_id: int,
    settings: EngineSettings = _DEFAULT_SETTINGS,
    *,
    run_history_start: date | None,
) -> ActivityFinding | None:
    """The finding :func:`compute_load` gives the run ``activity_id`` (``None`` when it gives none:
    not a counted run), computed from the runs it depends on only.

    ``activities``: the athlete's activities of at least the ``spike_lookback_days`` local days
    before the run's day and of that day (older or later ones may be there too; they change
    nothing); ``run_history_start``: the local day of the athlete's first counted run over the
    whole history (it decides "warming up"). Same counting and order as :func:`compute_load`.
    """
    running = settings.running_sports
    runs = []
    target: Activity | None = None
    for a in activities:
        if a.athlete_id != athlete.id:
            raise ValueError(f"activity {a.id}: belongs to athlete {a.athlete_id}, not {athlete.id}")
        if a.deleted or a.excluded or a.duplicate_of is not None or a.sport not in running:
            continue
        runs.append(a)
        if a.id == activity_id:
            target = a
    if target is None or run_history_start is None:
        return None
    day = target.local_date
    runs = [a for a in runs if a.local_date <= day]
    runs.sort(key=_activity_id)
    runs.sort(key=_timestamp)
    runs.sort(key=_local_date)
    found = run_findings(runs, lookback_days=settings.spike_lookback_days,
                         run_history_start=min(run_history_start, runs[0].local_date), report_from=day)
    return next((f for f in found if f.activity_id == activity_id), None)
