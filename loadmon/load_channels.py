"""The load channels and the ACWR kinds: one table each, read by every place that names them.

The engine computes the channels (:mod:`loadmon.engine.channels` has the arithmetic); the
status CLI, the HTML report, the alert rules and the config schema take names, units, labels
and which sports count from here, so a label is written once.

Pure (standard library only) and cheap to import: the config schema reads it at CLI start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ChannelSpec", "CHANNEL_SPECS", "CHANNEL_BY_NAME", "CHANNEL_NAMES", "channel_label",
    "AcwrKind", "ACWR_KIND_SPECS", "ACWR_KIND_BY_NAME", "ACWR_KIND_NAMES",
    "ACWR_LOW_BELOW", "ACWR_SWEET_SPOT_TOP", "ACWR_DANGER_FROM", "ACWR_ZONE_RANGES", "one_of",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelSpec:
    """One load channel.

    ``name``: its key (``LoadResult.channels``, JSON, ``alerts.rules.acwr_channel``).
    ``unit``: unit of its daily load. ``label``: lower-case words for a sentence or a table
    row ("running distance"). ``running_only``: only the engine's running sports count (the
    others: every sport). ``load``: what one activity contributes (for the docs).
    """

    name: str
    unit: str
    label: str
    running_only: bool
    load: str


#: Every channel, in the engine's order.
CHANNEL_SPECS: tuple[ChannelSpec, ...] = (
    ChannelSpec(name="distance_km", unit="km", label="running distance", running_only=True,
                load="distance_m / 1000"),
    ChannelSpec(name="duration_min", unit="min", label="training time", running_only=False,
                load="moving time (elapsed if none) / 60"),
    ChannelSpec(name="descent_m", unit="m", label="running descent", running_only=True,
                load="elevation_loss_m"),
    ChannelSpec(name="trimp", unit="TRIMP", label="heart-rate load (TRIMP)", running_only=False,
                load="Banister TRIMP (needs avg HR and the athlete's hr_rest and hr_max)"),
    ChannelSpec(name="srpe", unit="AU", label="session-RPE load", running_only=False,
                load="RPE (0-10) * minutes (Foster 1998)"),
)
CHANNEL_BY_NAME: dict[str, ChannelSpec] = {c.name: c for c in CHANNEL_SPECS}
CHANNEL_NAMES: tuple[str, ...] = tuple(CHANNEL_BY_NAME)


def channel_label(name: str) -> str:
    """The label of channel ``name`` (the name itself for an unknown one)."""
    spec = CHANNEL_BY_NAME.get(name)
    return spec.label if spec is not None else name


@dataclass(frozen=True, kw_only=True, slots=True)
class AcwrKind:
    """One acute:chronic workload ratio.

    ``label``: its name with the source (report legend and table). ``short_label``: a
    column heading ("coupled"). ``how``: what it compares, in words (alert messages).
    """

    name: str
    label: str
    short_label: str
    how: str


#: The three ACWR kinds, in display order: Hulin 2014 (coupled), Lolli/Windt 2019
#: (uncoupled), Williams 2017 (EWMA).
ACWR_KIND_SPECS: tuple[AcwrKind, ...] = (
    AcwrKind(name="rolling_coupled", label="rolling, coupled (Hulin 2014)", short_label="coupled",
             how="rolling averages, last 7 vs last 28 days"),
    AcwrKind(name="rolling_uncoupled", label="rolling, uncoupled (Lolli/Windt 2019)", short_label="uncoupled",
             how="rolling averages, last 7 days vs the 21 days before"),
    AcwrKind(name="ewma", label="EWMA 7/28 (Williams 2017)", short_label="EWMA", how="EWMA, 7 vs 28 days"),
)
ACWR_KIND_BY_NAME: dict[str, AcwrKind] = {k.name: k for k in ACWR_KIND_SPECS}
ACWR_KIND_NAMES: tuple[str, ...] = tuple(ACWR_KIND_BY_NAME)

#: Gabbett 2016 zones: low < 0.8 <= sweet spot <= 1.3 < caution < 1.5 <= danger (the
#: ``acwr`` rule's default caution and danger thresholds are the last two).
ACWR_LOW_BELOW = 0.8
ACWR_SWEET_SPOT_TOP = 1.3
ACWR_DANGER_FROM = 1.5
#: Each zone's range in words (``None``: no ratio).
ACWR_ZONE_RANGES: dict[str | None, str] = {
    "low": f"below {ACWR_LOW_BELOW:g}", "sweet_spot": f"{ACWR_LOW_BELOW:g}-{ACWR_SWEET_SPOT_TOP:g}",
    "caution": f"{ACWR_SWEET_SPOT_TOP:g}-{ACWR_DANGER_FROM:g}", "danger": f">= {ACWR_DANGER_FROM:g}", None: "",
}


def one_of(names: tuple[str, ...] | list[str]) -> str:
    """``"a, b or c"``: the allowed values in an error message."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
