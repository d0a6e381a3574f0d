"""The Today page in plain words: ``loadmon status --json`` (and the open alerts) in, display rows out.

Every number that is null comes with its reason (e.g. "warming up"), never a bare dash.
"""

from __future__ import annotations

from typing import Any

from loadmon.engine import DESCENT, DISTANCE, SPIKE_BANDS, spike_words
from loadmon.load_channels import ACWR_KIND_SPECS, ACWR_ZONE_RANGES, CHANNEL_BY_NAME, channel_label

#: 1.10 x the longest run of the last 30 days: above it, today's run is a spike (the upper edge of the
#: engine's reference band, Frandsen 2025).
SPIKE_FACTOR = next(b.upper for b in SPIKE_BANDS if b.ci is None)

#: The channels Today shows (status computes only these for the page: each one's values are the same).
TODAY_CHANNELS = (DISTANCE, DESCENT)

_ZONE_WORDS = {"low": "low", "sweet_spot": "in the sweet spot", "caution": "caution", "danger": "danger"}


def _num(value: Any, unit: str, nd: int = 1) -> str:
    return f"{value:.{nd}f} {unit}".strip()


def _or_reason(value: Any, reason: str | None, unit: str = "", nd: int = 1) -> str:
    return _num(value, unit, nd) if value is not None else f"not yet: {reason or 'no data'}"


def today_view(status: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
    channels = status["channels"]
    dist, desc = channels[DISTANCE], channels[DESCENT]
    volume = []
    for key in (DISTANCE, DESCENT):
        c = channels[key]
        reason = c["reason"]
        unit = CHANNEL_BY_NAME[key].unit
        volume.append({"label": channel_label(key).capitalize(),
                       "last7": _or_reason(c["acute_7d"], reason, unit),
                       "prev7": _or_reason(c["previous_7d"], reason, unit),
                       "ramp": (f"{c['ramp_pct']:+.0f}%" if c["ramp_pct"] is not None
                                else f"not yet: {c['ramp_reason'] or 'no data'}")})
    acwrs = []
    for spec in ACWR_KIND_SPECS:
        value = dist["acwr"][spec.name]
        zone = dist["acwr_zone"][spec.name]
        acwrs.append({"label": f"ACWR ({spec.short_label})",
                      "value": f"{value:.2f}" if value is not None else
                               f"not yet: {dist['acwr_reasons'][spec.name] or 'no data'}",
                      "zone": f"{_ZONE_WORDS.get(zone, zone)} ({ACWR_ZONE_RANGES[zone]})" if value is not None and zone else ""})
    pmc = [{"label": label, "value": _or_reason(dist[key], dist["reason"] or dist.get("chronic_reason"), "km")}
           for key, label in (("fitness", "Fitness"), ("fatigue", "Fatigue"), ("form", "Form"))]
    longest = status["longest_run_30d"]
    if longest and longest.get("distance_km"):
        limit = longest["distance_km"] * SPIKE_FACTOR
        longest_words = f"{longest['distance_km']:.2f} km on {longest['local_date']}"
        spike_limit = (f"a run longer than {limit:.2f} km today would be a spike "
                       f"({SPIKE_FACTOR:.2f} x the longest run of the last 30 days)")
        bands = spike_bands(longest["distance_km"])
    else:
        longest_words = "no run in the last 30 days"
        spike_limit = "not yet: no run in the last 30 days to compare with"
        bands = []
    largest = status.get("largest_descent_30d")
    descent = {"last7": _or_reason(desc["acute_7d"], desc["reason"], "m", 0),
               "prev7": _or_reason(desc["previous_7d"], desc["reason"], "m", 0),
               "largest": (f"{largest['descent_m']:.0f} m on {largest['local_date']}" if largest
                           else "no run with descent in the last 30 days")}
    last = status["last_run"]
    last_words = None
    if last:
        band = last.get("spike_words") or f"spike: {last.get('spike_reason') or 'unknown'}"
        last_words = f"{last['local_date']}: {_num(last.get('distance_km') or 0, 'km', 2)}, {band}"
    return {"date": status["date"], "athlete": status["athlete"], "no_history": status["history_start"] is None,
            "volume": volume, "acwrs": acwrs, "pmc": pmc, "longest": longest_words, "spike_limit": spike_limit, "bands": bands,
            "descent": descent, "last_run": last_words, "symptoms": status["active_symptoms"], "alerts": alerts}


def spike_bands(longest_km: float) -> list[dict[str, str]]:
    """Today's distance bands (Frandsen 2025): the km range of each band and its hazard rate ratio."""
    rows = []
    for band in SPIKE_BANDS:
        low = f"{longest_km * band.lower:.2f} km" if band.lower is not None else None
        high = f"{longest_km * band.upper:.2f} km" if band.upper is not None else None
        span = (f"up to {high}" if low is None else f"over {low}" if high is None else f"over {low} up to {high}")
        risk = ("the reference" if band.ci is None else
                f"{band.hrr:.2f} x the injury rate (95% CI {band.ci[0]:.2f}-{band.ci[1]:.2f})")
        rows.append({"span": span, "words": spike_words(band.label) or band.label, "risk": risk})
    return rows
