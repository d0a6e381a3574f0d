"""loadmon's pure load engine: activities in, daily load metrics and run findings out.

Public API (stable; the alert rules, the service and the CLI use it)::

    from loadmon.engine import compute_load, EngineSettings, local_date_of

    result = compute_load(activities, athlete, EngineSettings(), until=today)
    m = result.day("distance_km", today)          # DayMetrics
    m.acute_7d, m.ramp_pct, m.ramp_reason, m.acwr_ewma, m.acwr_ewma_reason, m.form
    m.to_dict()                                    # stable JSON keys
    result.finding(activity_id)                    # ActivityFinding (runs only)

Channels: ``distance_km``, ``duration_min``, ``descent_m``, ``trimp``, ``srpe`` (names, units,
labels and sports: :data:`loadmon.load_channels.CHANNEL_SPECS`; arithmetic: :mod:`loadmon.engine.channels`). Metric definitions: :class:`DayMetrics`,
:class:`ActivityFinding` and ``docs/metrics.md``. Reasons for ``None``:
:mod:`loadmon.engine.reasons`.

Pure: standard library + :mod:`loadmon.domain` + :mod:`loadmon.sports` + :mod:`loadmon.load_channels`;
no I/O, no clock.
"""

from __future__ import annotations

from loadmon.engine.channels import CHANNEL_UNITS, CHANNELS, DESCENT, DISTANCE, DURATION, SRPE, TRIMP
from loadmon.engine.compute import activity_finding, compute_load
from loadmon.engine.days import day_range, local_date_of
from loadmon.engine.findings import percentile_linear
from loadmon.engine.reasons import NO_BASE, NO_DISTANCE, NO_ELEVATION, NO_VARIATION, REASONS, WARMING_UP
from loadmon.engine.result import (
    ACWR_KINDS,
    ACWR_ZONES,
    SPIKE_BANDS,
    SPIKE_WORDS,
    ActivityFinding,
    ChannelSeries,
    DayMetrics,
    LoadResult,
    Ratio,
    SpikeBand,
    acwr_zone,
    spike_band_for,
    spike_words,
)
from loadmon.engine.settings import PMC_CONVENTIONS, EngineSettings

__all__ = [
    "compute_load", "activity_finding", "EngineSettings", "PMC_CONVENTIONS", "LoadResult", "ChannelSeries", "DayMetrics",
    "ActivityFinding", "Ratio", "SpikeBand", "SPIKE_BANDS", "SPIKE_WORDS", "spike_band_for", "spike_words", "ACWR_KINDS", "ACWR_ZONES",
    "acwr_zone", "local_date_of", "day_range", "percentile_linear",
    "CHANNELS", "CHANNEL_UNITS", "DISTANCE", "DURATION", "DESCENT", "TRIMP", "SRPE",
    "WARMING_UP", "NO_BASE", "NO_VARIATION", "NO_DISTANCE", "NO_ELEVATION", "REASONS",
]
