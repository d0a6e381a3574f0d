"""The personal back-test (N-of-1): the load before each of an athlete's own symptom episodes, next to
the athlete's usual, and how often each load rule fired before an episode or with nothing following.

Exploratory, never a diagnosis: no load rule has shown good prediction for an individual (Impellizzeri
2020); an athlete has few episodes; the rules fire on the same days; load is confounded with everything
else that changed. ``docs/insights.md`` explains the numbers and their limits.

Pure: standard library + :mod:`loadmon.domain` + :mod:`loadmon.engine` + :mod:`alerts.rules` (no I/O,
no clock). The rules are re-evaluated over the whole history (:func:`alerts.rules.evaluate_rules`):
stored alerts depend on when loadmon was installed, the notify window and withdrawals.

Windows (``WINDOW_DAYS`` = 14, athlete-local days): an episode beginning on local day ``d`` at
``began_at`` looks back at the runs that started from the beginning of day ``d - 14`` until
``began_at``, and at the day values (ramp, ACWR) of day ``d - 1``. An alert *warned of* the episode
when it lies in that window: a run alert when its run started in it, a day alert when its day is one
of ``d - 14 .. d - 1``. The athlete's *usual* is the median over the quiet windows: every 14-day
window (one ending on each day of the history) inside the history, with no episode open on any of
its days and no episode beginning in it or in the 14 days after it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alerts.alert import Alert
from alerts.rules import DAY_RULES, RULE_NAMES, RuleThresholds, evaluate_rules
from alerts.rules.episodes import Episode, episodes
from loadmon.domain import Activity, Athlete, Symptom
from loadmon.engine import DISTANCE, ActivityFinding, ChannelSeries, LoadResult

__all__ = [
    "WINDOW_DAYS",
    "COUNTED_RULES",
    "NOT_COUNTED_RULES",
    "MIN_EPISODES",
    "DAYS_PER_MONTH",
    "NO_RUNS",
    "NO_QUIET_WINDOW",
    "BacktestInput",
    "Measure",
    "EpisodeLoad",
    "RuleRecord",
    "NotCounted",
    "Backtest",
    "backtest",
]

#: Days before an episode (and after an alert) that link the two.
WINDOW_DAYS = 14
#: The load rules the back-test counts.
COUNTED_RULES: tuple[str, ...] = ("weekly_ramp", "acwr", "run_spike", "descent_spike")
#: The rules whose input is the symptom log: they fire only after a symptom, so "warned before the
#: episode" means nothing for them.
NOT_COUNTED_RULES: tuple[str, ...] = tuple(r for r in RULE_NAMES if r not in COUNTED_RULES)
#: Below this many episodes the counts are too few to mean much.
MIN_EPISODES = 3
#: The mean length of a Gregorian month in days.
DAYS_PER_MONTH = 365.2425 / 12
#: Why a measure is missing: no run in the window (or no run before the day).
NO_RUNS = "no runs"
#: Why a usual value is missing: no quiet 14-day window in the history.
NO_QUIET_WINDOW = "no quiet 14-day window"
NOT_COUNTED_WHY = "follows symptoms, not counted: it fires only after a symptom is logged"

#: A value and, when it is None, why.
Pair = tuple[float | None, str | None]

#: The measures, in display order: (key, label, unit).
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("runs", "Runs", ""),
    ("distance_km", "Distance", "km"),
    ("descent_m", "Descent", "m"),
    ("largest_spike_pct", "Largest single-run increase vs the longest of the previous 30 days", "%"),
    ("largest_descent_ratio", "Largest descent vs the largest of the previous 30 days", "x"),
    ("ramp_pct", "Weekly ramp on the day before", "%"),
    ("acwr_ewma", "ACWR (EWMA, distance) on the day before", "x"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class BacktestInput:
    """One athlete's history: ``load`` computed over the whole of it (no ``since``)."""

    athlete: Athlete
    activities: Sequence[Activity]
    symptoms: Sequence[Symptom]
    load: LoadResult
    thresholds: RuleThresholds


@dataclass(frozen=True, kw_only=True, slots=True)
class Measure:
    """One measure of the window before an episode, and the athlete's usual (median of the quiet windows)."""

    key: str
    label: str
    unit: str
    value: float | None
    reason: str | None
    usual: float | None
    usual_reason: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class EpisodeLoad:
    """One episode and the load of the 14 days before it began."""

    symptom_id: int
    began_at: datetime
    began: date  # athlete-local day
    site: str
    side: str
    peak_severity: int
    window_first_day: date
    window_last_day: date  # the day before ``began``
    measures: tuple[Measure, ...]
    spike_band: str | None  # the Frandsen band of the largest single-run increase
    warned_by: tuple[str, ...]  # the counted rules with an alert in the window

    def measure(self, key: str) -> Measure:
        return next(m for m in self.measures if m.key == key)


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleRecord:
    """One counted rule against the athlete's episodes.

    ``alerts_nothing_following``: alerts with no episode beginning in the 14 days after;
    ``alerts_too_recent``: alerts whose 14 days after have not all passed (neither followed nor not);
    ``nothing_following_per_month``: ``alerts_nothing_following`` / ``history_months``.
    """

    rule: str
    episodes_warned: int
    episodes_total: int
    alerts_total: int
    alerts_followed: int
    alerts_nothing_following: int
    alerts_too_recent: int
    history_months: float
    nothing_following_per_month: float | None
    too_few_episodes: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class NotCounted:
    rule: str
    alerts_total: int
    why: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Backtest:
    athlete_id: int
    athlete_name: str
    exploratory: bool
    first_day: date | None
    last_day: date | None
    history_months: float
    window_days: int
    quiet_windows: int  # how many windows the usual values rest on
    episodes: tuple[EpisodeLoad, ...]
    rules: tuple[RuleRecord, ...]
    not_counted: tuple[NotCounted, ...]
    too_few_episodes: bool
    note: str


def backtest(inp: BacktestInput) -> Backtest:
    """The back-test of one athlete (see the module doc)."""
    load = inp.load
    tz = ZoneInfo(inp.athlete.timezone)
    found = episodes(inp.symptoms, inp.thresholds)
    first, last = load.history_start, load.last_day
    days = (last - first).days + 1 if first is not None and last is not None and last >= first else 0
    months = days / DAYS_PER_MONTH
    alerts = (
        evaluate_rules(athlete=inp.athlete, load=load, activities=inp.activities, symptoms=inp.symptoms, thresholds=inp.thresholds)
        if days
        else []
    )
    starts = {f.activity_id: f.start_time for f in load.findings}
    windows = [_Window.before(e, tz) for e in found]
    usual = _Usual.of(load, found, tz)
    episode_loads = tuple(_episode_load(e, w, load, alerts, starts, usual) for e, w in zip(found, windows))
    too_few = len(found) < MIN_EPISODES
    rules = tuple(_rule_record(rule, alerts, windows, starts, last, months, too_few) for rule in COUNTED_RULES)
    not_counted = tuple(
        NotCounted(rule=r, alerts_total=sum(1 for a in alerts if a.rule == r), why=NOT_COUNTED_WHY) for r in NOT_COUNTED_RULES
    )
    return Backtest(
        athlete_id=inp.athlete.id,
        athlete_name=inp.athlete.name,
        exploratory=True,
        first_day=first,
        last_day=last,
        history_months=months,
        window_days=WINDOW_DAYS,
        quiet_windows=usual.count,
        episodes=episode_loads,
        rules=rules,
        not_counted=not_counted,
        too_few_episodes=too_few,
        note=_note(len(found), days, inp.thresholds),
    )


# ------------------------------------------------------------------------------------------ windows
@dataclass(frozen=True, kw_only=True, slots=True)
class _Window:
    """The 14 days before one episode: runs started in [start, end), day values of first..last."""

    start: datetime
    end: datetime
    first: date
    last: date

    @classmethod
    def before(cls, e: Episode, tz: ZoneInfo) -> _Window:
        began = e.began_at.astimezone(tz).date()
        first = began - timedelta(days=WINDOW_DAYS)
        return cls(start=datetime.combine(first, time(0), tzinfo=tz), end=e.began_at, first=first, last=began - timedelta(days=1))

    def holds(self, alert: Alert, starts: dict[int, datetime]) -> bool:
        """The alert lies in this window (a run alert by its run's start, a day alert by its day)."""
        start = starts.get(alert.activity_id) if alert.activity_id is not None else None
        if alert.rule in DAY_RULES or start is None:
            return self.first <= alert.local_date <= self.last
        return self.start <= start < self.end


def _rule_record(
    rule: str,
    alerts: Sequence[Alert],
    windows: Sequence[_Window],
    starts: dict[int, datetime],
    last: date | None,
    months: float,
    too_few: bool,
) -> RuleRecord:
    mine = [a for a in alerts if a.rule == rule]
    warned = sum(1 for w in windows if any(w.holds(a, starts) for a in mine))
    followed = [any(w.holds(a, starts) for w in windows) for a in mine]
    # an alert's 14 days after have all passed once its day + 14 is within the history
    pending = [not f and (last is None or a.local_date + timedelta(days=WINDOW_DAYS) > last) for a, f in zip(mine, followed)]
    nothing = len(mine) - sum(followed) - sum(pending)
    return RuleRecord(
        rule=rule,
        episodes_warned=warned,
        episodes_total=len(windows),
        alerts_total=len(mine),
        alerts_followed=sum(followed),
        alerts_nothing_following=nothing,
        alerts_too_recent=sum(pending),
        history_months=months,
        nothing_following_per_month=nothing / months if months > 0 else None,
        too_few_episodes=too_few,
    )


# ------------------------------------------------------------------------------------------ measures
@dataclass(frozen=True, kw_only=True, slots=True)
class _Values:
    """The measures of one window: (value, reason) per key."""

    values: dict[str, Pair]
    spike_band: str | None


def _window_values(runs: Sequence[ActivityFinding], series: ChannelSeries | None, day_before: date) -> _Values:
    out: dict[str, Pair] = {
        "runs": (float(len(runs)), None),
        "distance_km": (sum(f.distance_km or 0.0 for f in runs), None),
        "descent_m": (sum(f.descent_m or 0.0 for f in runs), None),
    }
    spikes = [f for f in runs if f.distance_increase_pct is not None]
    top = max(spikes, key=lambda f: f.distance_increase_pct or 0.0, default=None)
    out["largest_spike_pct"] = (top.distance_increase_pct, None) if top else (None, _reason(runs, "spike_reason"))
    ratios = [f.descent_ratio for f in runs if f.descent_ratio is not None]
    out["largest_descent_ratio"] = (max(ratios), None) if ratios else (None, _reason(runs, "descent_ratio_reason"))
    out["ramp_pct"], out["acwr_ewma"] = _day_values(series, day_before)
    return _Values(values=out, spike_band=top.spike_band if top else None)


def _reason(runs: Sequence[ActivityFinding], attr: str) -> str:
    reasons = [getattr(f, attr) for f in runs if getattr(f, attr)]
    return str(reasons[-1]) if reasons else NO_RUNS


def _day_values(series: ChannelSeries | None, day: date) -> tuple[Pair, Pair]:
    if series is None or not series.available:
        reason = series.reason if series is not None and series.reason else NO_RUNS
        return (None, reason), (None, reason)
    try:
        i = series.index(day)
    except KeyError:
        return (None, NO_RUNS), (None, NO_RUNS)
    c = series.columns
    return (c["ramp_pct"][i], c["ramp_reason"][i]), (c["acwr_ewma"][i], c["acwr_ewma_reason"][i])


@dataclass(frozen=True, kw_only=True, slots=True)
class _Usual:
    """The median of each measure over the quiet windows, with a reason when there is none."""

    count: int
    medians: dict[str, Pair]

    @classmethod
    def of(cls, load: LoadResult, found: Sequence[Episode], tz: ZoneInfo) -> _Usual:
        series = load.channels.get(DISTANCE)
        first, last = load.history_start, load.last_day
        if first is None or last is None:
            return cls(count=0, medians={key: (None, NO_QUIET_WINDOW) for key, _, _ in MEASURES})
        by_day: dict[date, list[ActivityFinding]] = {}
        for f in load.findings:
            by_day.setdefault(f.local_date, []).append(f)
        blocked = _blocked_days(found, tz, first, last)
        collected: dict[str, list[float]] = {key: [] for key, _, _ in MEASURES}
        reasons: dict[str, Counter[str]] = {key: Counter() for key, _, _ in MEASURES}
        count = 0
        end = first + timedelta(days=WINDOW_DAYS - 1)
        while end <= last:
            days = [end - timedelta(days=k) for k in range(WINDOW_DAYS)]
            if not any(d in blocked for d in days):
                count += 1
                runs = [f for d in reversed(days) for f in by_day.get(d, ())]
                for key, (value, reason) in _window_values(runs, series, end).values.items():
                    if value is not None:
                        collected[key].append(value)
                    elif reason:
                        reasons[key][reason] += 1
            end += timedelta(days=1)
        medians: dict[str, Pair] = {}
        for key, values in collected.items():
            if values:
                medians[key] = (statistics.median(values), None)
            else:
                medians[key] = (None, reasons[key].most_common(1)[0][0] if reasons[key] else NO_QUIET_WINDOW)
        return cls(count=count, medians=medians)


def _blocked_days(found: Sequence[Episode], tz: ZoneInfo, first: date, last: date) -> set[date]:
    """The days a quiet window must not touch: each episode's open days, and the 14 days before it
    began (a window ending there is followed by the episode within 14 days)."""
    out: set[date] = set()
    for e in found:
        began = e.began_at.astimezone(tz).date()
        ended = e.ended_at.astimezone(tz).date() if e.ended_at is not None else last
        day = max(first, began - timedelta(days=WINDOW_DAYS))
        while day <= min(ended, last):
            out.add(day)
            day += timedelta(days=1)
    return out


def _episode_load(
    e: Episode, w: _Window, load: LoadResult, alerts: Sequence[Alert], starts: dict[int, datetime], usual: _Usual
) -> EpisodeLoad:
    runs = [f for f in load.findings if w.start <= f.start_time < w.end]
    found = _window_values(runs, load.channels.get(DISTANCE), w.last)
    measures = []
    for key, label, unit in MEASURES:
        value, reason = found.values[key]
        u_value, u_reason = usual.medians[key]
        measures.append(Measure(key=key, label=label, unit=unit, value=value, reason=reason, usual=u_value, usual_reason=u_reason))
    warned = tuple(r for r in COUNTED_RULES if any(a.rule == r and w.holds(a, starts) for a in alerts))
    s = e.symptom
    return EpisodeLoad(
        symptom_id=s.id,
        began_at=e.began_at,
        began=w.last + timedelta(days=1),
        site=s.site,
        side=s.side,
        peak_severity=max(sev for _, sev in s.readings()),
        window_first_day=w.first,
        window_last_day=w.last,
        measures=tuple(measures),
        spike_band=found.spike_band,
        warned_by=warned,
    )


def _note(n: int, days: int, t: RuleThresholds) -> str:
    what = f"a lower-limb symptom from its first reading at severity {t.episode_min_severity} or more until it is resolved"
    base = (
        "Exploratory, not a diagnosis: no load rule has shown good prediction for an individual (Impellizzeri 2020), "
        "the rules fire on the same days, and load changes with everything else in your life."
    )
    if days == 0:
        return f"No runs yet: nothing to compare. {base}"
    if n == 0:
        return (
            f"No symptom episode in your history ({what}): there is nothing to test the rules against; "
            f"the rule table shows only how often each rule fired. {base}"
        )
    if n < MIN_EPISODES:
        return (
            f"Only {n} symptom episode{'s' if n != 1 else ''} ({what}): too few for these counts to mean much; "
            f"read them as a diary, not as evidence. {base}"
        )
    return f"{n} symptom episodes ({what}): each count below rests on them alone. {base}"
