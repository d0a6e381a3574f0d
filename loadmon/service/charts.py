"""The Charts page's data (``GET /api/charts``): the whole history as plain JSON series.

Derived from the engine's :func:`~loadmon.engine.compute_load` result with the HTML report's own
functions (:mod:`loadmon.report.page`: the channel picked for the ratios, the Monday-start week
sums, the symptom spans and alert flags with their texts), so the web charts and the report agree.

Days are local days of the athlete; day ``i`` of every daily series is ``first_day + i``. A value
the engine leaves ``None`` (warming up, no base) stays ``null``: the chart draws a gap, never 0.
Numbers are rounded as ``loadmon status --json`` rounds them (km 0.01, metres and other loads 0.1,
ratios 0.001).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loadmon.domain import Athlete
from loadmon.engine import ACWR_KINDS, DESCENT, DISTANCE, LoadResult, compute_load
from loadmon.load_channels import (
    ACWR_DANGER_FROM,
    ACWR_KIND_BY_NAME,
    ACWR_LOW_BELOW,
    ACWR_SWEET_SPOT_TOP,
    channel_label,
)
from loadmon.report.page import Marks, pick_channel, weekly_bars, window
from loadmon.service.context import Service
from loadmon.service.load import JSON_DECIMALS, engine_settings, today_for

__all__ = ["PMC_KEYS", "WEEKLY_CHANNELS", "chart_data", "charts_json"]

#: The weekly bar charts, in display order.
WEEKLY_CHANNELS = (DISTANCE, DESCENT)
#: Fitness (CTL), fatigue (ATL), form (TSB): their column names and labels.
PMC_KEYS = {"fitness": "fitness (CTL, 42 d)", "fatigue": "fatigue (ATL, 7 d)", "form": "form (TSB)"}


def _decimals(unit: str) -> int:
    return JSON_DECIMALS["km"] if unit == "km" else JSON_DECIMALS["m"] if unit == "m" else JSON_DECIMALS["load"]


def _rounded(values: Sequence[float | None], decimals: int) -> list[float | None]:
    """Each value rounded (``+ 0.0``: never ``-0.0``); ``None`` stays ``None``."""
    return [None if v is None else round(v, decimals) + 0.0 for v in values]


def _weekly(result: LoadResult, name: str, first: date, last: date) -> dict[str, Any]:
    series = result.channels.get(name)
    label = f"weekly {channel_label(name)}"
    if series is None or not series.available or series.first_day is None:
        return {"label": label, "unit": None, "available": False, "reason": series.reason if series is not None else "no activities yet"}
    days, cols = window(series, max(first, series.first_day), last)
    bars = weekly_bars(days, cols["load"], series.unit, last)
    return {
        "label": label,
        "unit": series.unit,
        "available": True,
        "reason": None,
        "weeks": [(b.first_day - timedelta(days=b.first_day.weekday())).isoformat() for b in bars],  # Mondays
        "days": [b.days for b in bars],
        "values": _rounded([b.value for b in bars], _decimals(series.unit)),
        "partial": [b.partial for b in bars],
    }


def charts_json(
    result: LoadResult, *, athlete_name: str, symptoms: Sequence[Any] = (), alerts: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The chart series of ``result`` (the whole history, to ``result.last_day``) as JSON-ready data."""
    series = pick_channel(result)
    out: dict[str, Any] = {
        "athlete": athlete_name,
        "timezone": result.timezone,
        "history_start": result.history_start.isoformat() if result.history_start else None,
        "first_day": None,
        "last_day": None,
        "channel": None,
        "channel_label": None,
        "unit": None,
        "days": 0,
        "acwr": {},
        "pmc": {},
        "weekly": {},
        "acwr_band": {"low": ACWR_LOW_BELOW, "high": ACWR_SWEET_SPOT_TOP, "danger": ACWR_DANGER_FROM},
        "symptoms": [],
        "alerts": [],
    }
    if series is None or series.first_day is None or result.last_day is None or result.first_day is None:
        return out
    first, last = result.first_day, result.last_day
    days, cols = window(series, first, last)
    if days:
        first = days[0]
    ratio = JSON_DECIMALS["ratio"]
    pmc = _decimals(series.unit)
    out.update(
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        channel=series.name,
        channel_label=channel_label(series.name),
        unit=series.unit,
        days=len(days),
        acwr={k: {"label": ACWR_KIND_BY_NAME[k].label, "values": _rounded(cols[f"acwr_{k}"], ratio)} for k in ACWR_KINDS},
        pmc={k: {"label": label, "values": _rounded(cols[k], pmc)} for k, label in PMC_KEYS.items()},
        weekly={name: _weekly(result, name, first, last) for name in WEEKLY_CHANNELS},
    )
    marks = Marks(symptoms, alerts, ZoneInfo(result.timezone), first, last)
    out["symptoms"] = [{"start": s.isoformat(), "end": e.isoformat(), "text": tip} for s, e, tip in sorted(marks.spans)]
    out["alerts"] = [{"date": d.isoformat(), "severity": sev, "text": tip} for d, sev, tip in sorted(marks.flags)]
    return out


def chart_data(svc: Service, athlete: Athlete, *, day: date | None = None) -> dict[str, Any]:
    """``GET /api/charts``: the athlete's whole history to ``day`` (default: today in their zone),
    with their symptoms and their active (not withdrawn) alerts marked."""
    day = day or today_for(svc, athlete)
    activities = svc.store.list_activities(athlete.id, until=day)
    settings = engine_settings(svc.config)
    # the charts need no run findings, and only distance and descent unless the athlete has no run
    # with a distance (then the ratios follow another channel, as in the report)
    result = compute_load(activities, athlete, settings, until=day, channels=WEEKLY_CHANNELS, findings=False)
    if not result.channels[DISTANCE].available and result.history_start is not None:
        result = compute_load(activities, athlete, settings, until=day, findings=False)
    alerts = [
        {"local_date": a["local_date"], "rule": a["rule"], "severity": a["severity"], "message": a["message"]}
        for a in svc.store.list_alerts(athlete.id)
        if a.get("state", "active") == "active"
    ]
    return charts_json(result, athlete_name=athlete.name, symptoms=svc.store.list_symptoms(athlete.id), alerts=alerts)
