"""What :func:`loadmon.engine.compute_load` returns: plain, immutable, JSON-friendly values.

* :class:`LoadResult` - one athlete's channels (daily series) and run findings.
* :class:`ChannelSeries` - one load channel: one :class:`DayMetrics` per local day.
* :class:`DayMetrics` - every daily metric of one channel on one day, each ``None`` metric
  paired with a ``*_reason`` (see :mod:`loadmon.engine.reasons`).
* :class:`ActivityFinding` - one run compared with the runs of the previous 30 days.

``to_dict()`` gives stable keys (used by the status JSON); values are ``float``/``int``/
``str``/``bool``/``None`` (dates as ISO strings), never NaN or infinity.

A :class:`ChannelSeries` keeps its metrics as columns (``columns``: one tuple per metric,
one entry per day) and builds :class:`DayMetrics` objects only when asked (``day()``,
``days``): charts can read the columns directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from loadmon.engine.settings import EngineSettings
from loadmon.load_channels import ACWR_DANGER_FROM, ACWR_KIND_NAMES, ACWR_LOW_BELOW, ACWR_SWEET_SPOT_TOP

__all__ = [
    "ACWR_KINDS", "ACWR_ZONES", "Ratio", "acwr_zone", "DayMetrics", "ChannelSeries",
    "SpikeBand", "SPIKE_BANDS", "SPIKE_WORDS", "spike_words", "spike_band_for", "ActivityFinding", "LoadResult",
]

#: The three ACWR kinds, in display order (labels: :data:`loadmon.load_channels.ACWR_KIND_SPECS`).
ACWR_KINDS: tuple[str, ...] = ACWR_KIND_NAMES
#: Gabbett 2016 zones: low < 0.8 <= sweet_spot <= 1.3 < caution < 1.5 <= danger.
ACWR_ZONES: tuple[str, ...] = ("low", "sweet_spot", "caution", "danger")


class Ratio(NamedTuple):
    """A ratio and, when it is ``None``, why."""

    value: float | None
    reason: str | None


def acwr_zone(value: float | None) -> str | None:
    """Gabbett 2016 zone of an ACWR: "low" (< 0.8), "sweet_spot" (0.8-1.3 inclusive),
    "caution" (> 1.3 and < 1.5), "danger" (>= 1.5); ``None`` for ``None``."""
    if value is None:
        return None
    if value < ACWR_LOW_BELOW:
        return "low"
    if value <= ACWR_SWEET_SPOT_TOP:
        return "sweet_spot"
    if value < ACWR_DANGER_FROM:
        return "caution"
    return "danger"


@dataclass(frozen=True, kw_only=True)
class DayMetrics:
    """Every metric of one channel on one athlete-local day.

    Windows (default settings; "7d" = ``acute_days``, "28d" = ``chronic_days``):
    ``acute_7d`` = sum of loads t-6..t; ``previous_7d`` = sum t-13..t-7;
    ``ramp_pct`` = (acute_7d / previous_7d - 1) * 100; ``chronic_28d`` = mean daily load
    t-27..t, ``chronic_weekly`` = chronic_28d * 7, ``chronic_uncoupled_weekly`` = mean daily
    load t-27..t-7 * 7; ACWRs: ``acwr_rolling_coupled`` = mean(t-6..t) / mean(t-27..t),
    ``acwr_rolling_uncoupled`` = mean(t-6..t) / mean(t-27..t-7), ``acwr_ewma`` = EWMA7 /
    EWMA28 (lambda = 2/(N+1), seeded with the mean daily load of the warm-up window);
    ``fitness``/``fatigue`` = CTL/ATL (settings.pmc_convention), ``form`` = yesterday's
    CTL - yesterday's ATL, ``ctl_ramp`` = CTL_t - CTL_{t-7}; ``monotony`` = mean / population
    SD of the last 7 daily loads, ``strain`` = acute_7d * monotony (Foster 1998).

    ``load``: the day's load; ``None`` with ``load_reason`` "no heart rate" for a TRIMP day whose
    activities all lack an average heart rate (unknown, not 0). On a day with some activities with
    and some without heart rate, ``load`` is the TRIMP of those with it. Window sums, ratios and
    EWMAs count an unknown day as 0 (they cover the activities with heart rate only; the
    channel's ``activities_missing`` says how many lacked it).

    ``history_days``: days of this channel's history up to and including this day (0 before
    its first day). Ratios, chronic means and EWMAs are ``None`` with reason "warming up"
    until ``history_days`` reaches ``settings.warmup_days`` (ramp: ``ramp_warmup_days``).
    """

    channel: str
    unit: str
    date: date
    load: float | None
    load_reason: str | None
    history_days: int
    warming_up: bool
    acute_7d: float
    previous_7d: float
    ramp_pct: float | None
    ramp_reason: str | None
    chronic_28d: float | None
    chronic_weekly: float | None
    chronic_uncoupled_weekly: float | None
    chronic_reason: str | None
    acwr_rolling_coupled: float | None
    acwr_rolling_coupled_reason: str | None
    acwr_rolling_uncoupled: float | None
    acwr_rolling_uncoupled_reason: str | None
    acwr_ewma: float | None
    acwr_ewma_reason: str | None
    ewma_acute: float | None
    ewma_chronic: float | None
    ewma_reason: str | None
    fitness: float
    fatigue: float
    form: float
    ctl_ramp: float
    monotony: float | None
    monotony_reason: str | None
    strain: float | None
    strain_reason: str | None

    acwr_zone = staticmethod(acwr_zone)

    def acwr(self, kind: str) -> Ratio:
        """The ACWR of ``kind`` (one of :data:`ACWR_KINDS`) with its reason."""
        if kind not in ACWR_KINDS:
            raise KeyError(f"ACWR kind {kind!r} is not one of {', '.join(ACWR_KINDS)}")
        return Ratio(getattr(self, f"acwr_{kind}"), getattr(self, f"acwr_{kind}_reason"))

    def to_dict(self) -> dict[str, Any]:
        """Stable, JSON-safe keys (the status JSON uses them)."""
        acwr = {k: getattr(self, f"acwr_{k}") for k in ACWR_KINDS}
        return {
            "channel": self.channel,
            "unit": self.unit,
            "date": self.date.isoformat(),
            "load": self.load,
            "load_reason": self.load_reason,
            "history_days": self.history_days,
            "warming_up": self.warming_up,
            "acute_7d": self.acute_7d,
            "previous_7d": self.previous_7d,
            "ramp_pct": self.ramp_pct,
            "ramp_reason": self.ramp_reason,
            "chronic_28d": self.chronic_28d,
            "chronic_weekly": self.chronic_weekly,
            "chronic_uncoupled_weekly": self.chronic_uncoupled_weekly,
            "chronic_reason": self.chronic_reason,
            "acwr": acwr,
            "acwr_reason": {k: getattr(self, f"acwr_{k}_reason") for k in ACWR_KINDS},
            "acwr_zone": {k: acwr_zone(v) for k, v in acwr.items()},
            "ewma_acute": self.ewma_acute,
            "ewma_chronic": self.ewma_chronic,
            "ewma_reason": self.ewma_reason,
            "fitness": self.fitness,
            "fatigue": self.fatigue,
            "form": self.form,
            "ctl_ramp": self.ctl_ramp,
            "monotony": self.monotony,
            "monotony_reason": self.monotony_reason,
            "strain": self.strain,
            "strain_reason": self.strain_reason,
        }


#: Column names of :attr:`ChannelSeries.columns` (the DayMetrics fields after channel/unit/date).
COLUMN_NAMES: tuple[str, ...] = tuple(DayMetrics.__dataclass_fields__)[3:]

# The engine builds its (many) result objects without the generated ``__init__``: a frozen
# dataclass's __init__ pays one object.__setattr__ per field, ~4x the cost of filling the
# instance dict at once. The objects are the same (frozen, equal to __init__-built ones;
# tests/engine check that every field is set). DayMetrics and ActivityFinding are
# deliberately not slotted so that this is possible.
_new = object.__new__


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelSeries:
    """One load channel over ``first_day``..``last_day`` (consecutive local days, one per day).

    ``available`` is ``False`` (with ``reason``, and no days) when the channel has no data at
    all (e.g. TRIMP without the athlete's hr_rest/hr_max). ``history_start``: the channel's
    first day with data; warm-up counts from it. ``activities_counted`` / ``activities_missing``:
    activities of the channel's sports that did / did not carry its input (e.g. avg HR).
    ``columns``: metric name -> tuple with one value per day (same names as DayMetrics).
    """

    name: str
    unit: str
    available: bool
    reason: str | None
    history_start: date | None
    first_day: date | None
    last_day: date | None
    activities_counted: int
    activities_missing: int
    columns: Mapping[str, tuple[Any, ...]] = field(repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.columns.get("load", ()))

    @property
    def dates(self) -> tuple[date, ...]:
        """The days of the series, in order."""
        cached = self._cache.get("dates")
        if cached is None:
            if self.first_day is None:
                cached = ()
            else:
                start = self.first_day.toordinal()
                cached = tuple(date.fromordinal(start + i) for i in range(len(self)))
            self._cache["dates"] = cached
        return cached

    @property
    def days(self) -> tuple[DayMetrics, ...]:
        """One :class:`DayMetrics` per day (built on first access, then kept)."""
        cached = self._cache.get("days")
        if cached is None:
            head = {"channel": self.name, "unit": self.unit}
            rows = zip(*(self.columns[name] for name in COLUMN_NAMES)) if len(self) else ()
            out = []
            for day, row in zip(self.dates, rows):
                m = _new(DayMetrics)
                d = m.__dict__
                d.update(head, date=day)
                d.update(zip(COLUMN_NAMES, row))
                out.append(m)
            cached = tuple(out)
            self._cache["days"] = cached
        return cached

    def index(self, day: date) -> int:
        """Position of ``day`` in the series; ``KeyError`` when outside it or unavailable."""
        if not self.available:
            raise KeyError(f"channel {self.name!r} is not available: {self.reason}")
        i = day.toordinal() - self.first_day.toordinal() if self.first_day is not None else -1
        if not 0 <= i < len(self):
            raise KeyError(f"{day.isoformat()} is outside channel {self.name!r} ({self.first_day}..{self.last_day})")
        return i

    def day(self, day: date) -> DayMetrics:
        """The metrics of ``day``."""
        i = self.index(day)
        cached: list[DayMetrics] | None = self._cache.get("days")
        if cached is not None:
            return cached[i]
        return self._build(i, day)

    def column(self, name: str) -> tuple[Any, ...]:
        """One metric for every day (e.g. ``column("acwr_ewma")``)."""
        if name not in COLUMN_NAMES:
            raise KeyError(f"unknown column {name!r}")
        return self.columns.get(name, ())

    def _build(self, i: int, day: date) -> DayMetrics:
        m = _new(DayMetrics)
        m.__dict__.update(channel=self.name, unit=self.unit, date=day)
        m.__dict__.update(zip(COLUMN_NAMES, (self.columns[name][i] for name in COLUMN_NAMES)))
        return m


@dataclass(frozen=True, kw_only=True, slots=True)
class SpikeBand:
    """One Frandsen 2025 band of the single-run distance spike (ratio = run / longest of
    the previous 30 days); ``lower`` exclusive, ``upper`` inclusive (``None`` = no limit)."""

    label: str
    lower: float | None
    upper: float | None
    hrr: float
    ci_low: float | None
    ci_high: float | None

    @property
    def ci(self) -> tuple[float, float] | None:
        """(ci_low, ci_high), or ``None`` for the reference band."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_low, self.ci_high)


#: Frandsen et al. 2025, BJSM 59:1203: hazard rate ratios vs the <=10% reference.
SPIKE_BANDS: tuple[SpikeBand, ...] = (
    SpikeBand(label="<=10%", lower=None, upper=1.10, hrr=1.0, ci_low=None, ci_high=None),
    SpikeBand(label=">10-30%", lower=1.10, upper=1.30, hrr=1.64, ci_low=1.31, ci_high=2.05),
    SpikeBand(label=">30-100%", lower=1.30, upper=2.00, hrr=1.52, ci_low=1.16, ci_high=2.00),
    SpikeBand(label=">100%", lower=2.00, upper=None, hrr=2.28, ci_low=1.50, ci_high=3.48),
)


#: A band in words, for people: the reference band (a shorter run, or at most 10% longer) is
#: "not a spike"; the labels above stay the data (JSON ``spike_band``).
SPIKE_WORDS: dict[str, str] = {
    "<=10%": "not a spike",
    ">10-30%": "spike: 10-30% longer than the longest run of the previous 30 days",
    ">30-100%": "spike: 30-100% longer than the longest run of the previous 30 days",
    ">100%": "spike: more than double the longest run of the previous 30 days",
}


def spike_words(label: str | None) -> str | None:
    """:data:`SPIKE_WORDS` of a band label ("not a spike" for ``<=10%``); ``None`` for ``None``."""
    return None if label is None else SPIKE_WORDS.get(label, label)


def spike_band_for(ratio: float) -> SpikeBand:
    """The band of a distance ratio (rounded to 9 decimals first, so 11/10 is exactly 10%)."""
    r = round(ratio, 9)
    for band in SPIKE_BANDS:
        if band.upper is None or r <= band.upper:
            return band
    return SPIKE_BANDS[-1]  # pragma: no cover


@dataclass(frozen=True, kw_only=True)
class ActivityFinding:
    """One running activity compared with the runs of the previous ``spike_lookback_days``.

    Reference window: runs whose local day is one of the 30 days before this run's day, plus
    runs earlier on the same day (earlier start time). Runs without a distance (or with 0)
    and runs without elevation data do not enter the distance / descent references.

    Distance spike (Frandsen 2025): ``distance_ratio`` = distance / ``longest_prev_30d_km``,
    ``distance_increase_pct`` = (ratio - 1) * 100, ``spike_band`` / ``spike_hrr`` /
    ``spike_hrr_ci`` from :data:`SPIKE_BANDS`; ``None`` with ``spike_reason`` "warming up"
    (fewer than 30 days of run history before this run's day), "no base" (no previous run
    with a distance in the window) or "no distance". Descent: ``descent_ratio`` = descent /
    ``largest_descent_prev_30d_m``; ``descent_p75_prev_30d_m`` = 75th percentile (linear
    interpolation, numpy's default) of the window's session descents; ``descent_per_km``;
    ``steep_descent_m``: the metres of it at -8 % or steeper (load-science.md), when measured.
    While warming up, ``longest_prev_30d_km`` and ``largest_descent_prev_30d_m`` are still
    reported (facts about the known runs); the ratios, the band and the p75 threshold are not.
    """

    activity_id: int
    local_date: date
    start_time: datetime
    sport: str
    name: str | None
    distance_km: float | None
    prev_runs_30d: int
    longest_prev_30d_km: float | None
    longest_prev_30d_activity_id: int | None
    distance_ratio: float | None
    distance_increase_pct: float | None
    spike_band: str | None
    spike_hrr: float | None
    spike_hrr_ci: tuple[float, float] | None
    spike_reason: str | None
    descent_m: float | None
    descent_per_km: float | None
    descent_per_km_reason: str | None
    largest_descent_prev_30d_m: float | None
    descent_ratio: float | None
    descent_ratio_reason: str | None
    descent_p75_prev_30d_m: float | None
    descent_p75_reason: str | None
    steep_descent_m: float | None = None  # the part of descent_m at -8 % or steeper (None: not measured)

    def to_dict(self) -> dict[str, Any]:
        """Stable, JSON-safe keys."""
        return {
            "activity_id": self.activity_id,
            "local_date": self.local_date.isoformat(),
            "start_time": self.start_time.isoformat(),
            "sport": self.sport,
            "name": self.name,
            "distance_km": self.distance_km,
            "prev_runs_30d": self.prev_runs_30d,
            "longest_prev_30d_km": self.longest_prev_30d_km,
            "longest_prev_30d_activity_id": self.longest_prev_30d_activity_id,
            "distance_ratio": self.distance_ratio,
            "distance_increase_pct": self.distance_increase_pct,
            "spike_band": self.spike_band,
            "spike_hrr": self.spike_hrr,
            "spike_hrr_ci": list(self.spike_hrr_ci) if self.spike_hrr_ci is not None else None,
            "spike_reason": self.spike_reason,
            "descent_m": self.descent_m,
            "descent_per_km": self.descent_per_km,
            "descent_per_km_reason": self.descent_per_km_reason,
            "largest_descent_prev_30d_m": self.largest_descent_prev_30d_m,
            "descent_ratio": self.descent_ratio,
            "descent_ratio_reason": self.descent_ratio_reason,
            "descent_p75_prev_30d_m": self.descent_p75_prev_30d_m,
            "descent_p75_reason": self.descent_p75_reason,
            "steep_descent_m": self.steep_descent_m,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadResult:
    """One athlete's load over ``first_day``..``last_day``.

    ``history_start``: local day of the athlete's first counted activity (``None`` without
    activities). ``timezone``: the athlete's zone, in which every day here is a local day. ``channels``: every channel name of :data:`loadmon.engine.CHANNELS`, each
    possibly ``available=False``. ``findings``: one per running activity in the period, in
    (local day, start time) order.
    """

    athlete_id: int
    first_day: date | None
    last_day: date | None
    history_start: date | None
    settings: EngineSettings
    channels: Mapping[str, ChannelSeries]
    findings: tuple[ActivityFinding, ...]
    findings_by_activity: Mapping[int, ActivityFinding] = field(repr=False, compare=False)
    timezone: str = "UTC"  # the athlete's IANA zone (the zone of every local day here)

    def day(self, channel: str, day: date) -> DayMetrics:
        """The metrics of ``channel`` on ``day``; ``KeyError`` (with the reason) for an
        unknown or unavailable channel or a day outside first_day..last_day."""
        try:
            series = self.channels[channel]
        except KeyError:
            raise KeyError(f"unknown channel {channel!r} (channels: {', '.join(self.channels)})") from None
        return series.day(day)

    def finding(self, activity_id: int) -> ActivityFinding | None:
        """The finding of one running activity (``None`` when it has none)."""
        return self.findings_by_activity.get(activity_id)

    @property
    def available_channels(self) -> tuple[str, ...]:
        return tuple(name for name, series in self.channels.items() if series.available)

    @property
    def dates(self) -> tuple[date, ...]:
        """Every day of the period (empty when it is empty)."""
        if self.first_day is None or self.last_day is None:
            return ()
        n = (self.last_day - self.first_day).days + 1
        return tuple(self.first_day + timedelta(days=i) for i in range(max(0, n)))

    def status(self, day: date) -> dict[str, dict[str, Any]]:
        """``{channel: DayMetrics.to_dict()}`` of every available channel on ``day``."""
        return {name: self.channels[name].day(day).to_dict() for name in self.available_channels}
