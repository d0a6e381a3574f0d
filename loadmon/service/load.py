"""Load status and reports: stored activities -> the pure engine -> plain data for CLI and daemon."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loadmon.config import Config
from loadmon.domain import Activity, Athlete, Symptom
from loadmon.engine import (
    ACWR_KINDS,
    DESCENT,
    DISTANCE,
    DURATION,
    SRPE,
    TRIMP,
    EngineSettings,
    LoadResult,
    compute_load,
    spike_words,
)
from loadmon.service.context import Service

#: The status channels in their display order (running volume first).
STATUS_CHANNELS = (DISTANCE, DESCENT, DURATION, TRIMP, SRPE)
#: The period `loadmon report` shows without --since or --all.
REPORT_MONTHS = 6


def engine_settings(config: Config) -> EngineSettings:
    e = config.engine
    return EngineSettings(running_sports=frozenset(e.running_sports), pmc_convention=e.pmc_convention,
                          ctl_days=e.ctl_days, atl_days=e.atl_days)


def today_for(svc: Service, athlete: Athlete) -> date:
    return svc.clock().astimezone(ZoneInfo(athlete.timezone)).date()


@dataclass(frozen=True, kw_only=True)
class LoadView:
    athlete: Athlete
    result: LoadResult
    activities: list[Activity]
    day: date


def compute(svc: Service, athlete: Athlete, *, day: date | None = None, since: date | None = None,
            channels: Collection[str] | None = None) -> LoadView:
    day = day or today_for(svc, athlete)
    activities = svc.store.list_activities(athlete.id, until=day)
    result = compute_load(activities, athlete, engine_settings(svc.config), until=day, since=since, channels=channels)
    return LoadView(athlete=athlete, result=result, activities=activities, day=day)


def _channel_status(result: LoadResult, name: str, day: date) -> dict[str, Any]:
    series = result.channels.get(name)
    if series is None or not series.available or series.first_day is None or day < series.first_day:
        reason = series.reason if series is not None and not series.available else "no activities yet"
        return {"available": False, "reason": reason, "unit": series.unit if series else None,
                "acute_7d": None, "previous_7d": None, "ramp_pct": None, "ramp_reason": reason,
                "chronic_weekly": None, "chronic_reason": reason,
                "acwr": {k: None for k in ACWR_KINDS}, "acwr_reason": reason,
                "acwr_reasons": {k: reason for k in ACWR_KINDS}, "acwr_zone": {k: None for k in ACWR_KINDS},
                "fitness": None, "fatigue": None, "form": None, "monotony": None, "strain": None}
    d = series.day(day).to_dict()
    reasons = d.pop("acwr_reason")
    d["acwr_reasons"] = reasons
    d["acwr_reason"] = next((r for r in reasons.values() if r), None)
    d["available"] = True
    d["reason"] = None
    for key in ("channel", "date"):
        d.pop(key, None)
    return d


#: Status asks the engine for its last days only (``since``): the engine still runs every window over
#: the whole history and trims only its output, so a day's values are the same (a test checks it);
#: building 10 years of output columns and run findings took most of a status' time.
STATUS_WINDOW_DAYS = 30


def status(svc: Service, athlete: Athlete, *, day: date | None = None,
           window_days: int | None = STATUS_WINDOW_DAYS, channels: Sequence[str] = STATUS_CHANNELS) -> dict[str, Any]:
    """Everything `loadmon status` shows, as stable JSON-friendly keys (documented in the README).
    ``window_days``: the engine's output window (None: the whole history; the same answer).
    ``channels``: the channels computed and given under ``channels`` (a page that shows fewer asks for
    fewer; each one's values are the same)."""
    day = day or today_for(svc, athlete)
    since = day - timedelta(days=window_days - 1) if window_days else None
    wanted = None if tuple(channels) == tuple(STATUS_CHANNELS) else tuple(channels)
    view = compute(svc, athlete, day=day, since=since, channels=wanted)
    result = view.result
    runs = [f for f in result.findings if f.local_date <= day]
    if not runs and since is not None and result.history_start is not None and result.history_start < since:
        # no run in the window: the last run (if any) is older; its finding from the whole history
        result = compute_load(view.activities, athlete, engine_settings(svc.config), until=day, channels=wanted)
        runs = [f for f in result.findings if f.local_date <= day]
    by_channel = {name: _channel_status(result, name, day) for name in channels}
    last = runs[-1] if runs else None
    window_start = day - timedelta(days=29)
    recent = [f for f in runs if f.local_date >= window_start and f.distance_km]
    longest = max(recent, key=lambda f: f.distance_km or 0.0, default=None)
    hilly = [f for f in runs if f.local_date >= window_start and f.descent_m]
    largest_descent = max(hilly, key=lambda f: f.descent_m or 0.0, default=None)
    symptoms = active_symptoms(svc.store.list_symptoms(athlete.id), at=_end_of_day(day, athlete.timezone))
    return {
        "date": day.isoformat(),
        "athlete": athlete.name,
        "timezone": athlete.timezone,
        "history_start": result.history_start.isoformat() if result.history_start else None,
        "channels": by_channel,
        "longest_run_30d": None if longest is None else {
            "activity_id": longest.activity_id, "local_date": longest.local_date.isoformat(),
            "distance_km": longest.distance_km},
        "largest_descent_30d": None if largest_descent is None else {
            "activity_id": largest_descent.activity_id, "local_date": largest_descent.local_date.isoformat(),
            "descent_m": largest_descent.descent_m},
        "last_run": None if last is None else last.to_dict() | {"spike_words": spike_words(last.spike_band)},
        "active_symptoms": [symptom_dict(s) for s in symptoms],
    }


#: Decimals of a status number in JSON, by what it measures: km to 0.01 (10 m), metres, minutes
#: and other loads to 0.1, percentages to 0.1, ratios to 0.001.
JSON_DECIMALS = {"km": 2, "m": 1, "pct": 1, "ratio": 3, "load": 1}
_RATIO_KEYS = frozenset({"acwr", "monotony", "distance_ratio", "descent_ratio", "spike_hrr", "spike_hrr_ci"})
_METRE_KEYS = frozenset({"descent_per_km"})


def _kind(key: str, unit: str | None) -> str | None:
    """What a status key measures (``None``: leave it as it is: ids, counts, text)."""
    if key in _RATIO_KEYS:
        return "ratio"
    if key.endswith("_pct"):
        return "pct"
    if key.endswith("_km"):
        return "km"
    if key.endswith("_m") or key in _METRE_KEYS:
        return "m"
    if unit is not None and key in _CHANNEL_LOAD_KEYS:
        return "km" if unit == "km" else "load"
    return None


_CHANNEL_LOAD_KEYS = frozenset({"load", "acute_7d", "previous_7d", "chronic_28d", "chronic_weekly",
                                "chronic_uncoupled_weekly", "ewma_acute", "ewma_chronic", "fitness", "fatigue",
                                "form", "ctl_ramp", "strain"})


def _round(value: Any, decimals: int) -> Any:
    if isinstance(value, float):
        return round(value, decimals) + 0.0  # + 0.0: never "-0.0"
    if isinstance(value, list):
        return [_round(v, decimals) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, decimals) for k, v in value.items()}
    return value


def _round_tree(data: Any, unit: str | None = None) -> Any:
    if isinstance(data, list):
        return [_round_tree(v, unit) for v in data]
    if not isinstance(data, dict):
        return data
    if isinstance(data.get("unit"), str):  # a channel: its loads are in this unit
        unit = data["unit"]
    out: dict[str, Any] = {}
    for key, value in data.items():
        kind = _kind(key, unit)
        if kind is None or (isinstance(value, dict) and kind != "ratio"):  # e.g. channels.distance_km: a channel
            out[key] = _round_tree(value, unit)
        else:
            out[key] = _round(value, JSON_DECIMALS[kind])
    return out


def status_json(data: dict[str, Any]) -> dict[str, Any]:
    """:func:`status` for JSON output: every number rounded to what it means (km 0.01, metres and
    other loads 0.1, percentages 0.1, ratios 0.001), so a decayed residue (``9.1e-26``) reads
    ``0.0``. The engine's arithmetic is never rounded; only this output edge is."""
    return _round_tree(data)


def _end_of_day(day: date, tz: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(tz))


def active_symptoms(symptoms: list[Symptom], *, at: datetime) -> list[Symptom]:
    return [s for s in symptoms if s.started_at <= at and (s.resolved_at is None or s.resolved_at > at)]


def symptom_dict(s: Symptom) -> dict[str, Any]:
    return {"id": s.id, "site": s.site, "side": s.side, "location": s.location, "severity": s.severity,
            "started_at": s.started_at.isoformat(), "resolved_at": s.resolved_at.isoformat() if s.resolved_at else None,
            "note": s.note}


def report_html(svc: Service, athlete: Athlete, *, since: date | None = None, day: date | None = None,
                months: int | None = REPORT_MONTHS) -> str:
    """The self-contained HTML report (charts inlined; no network needed to view it): from
    ``since``, else the last ``months`` months, else (``months=None``) the whole history."""
    from loadmon.report import render_report

    view = compute(svc, athlete, day=day)
    alerts = [
        {"local_date": a["local_date"], "rule": a["rule"], "severity": a["severity"], "message": a["message"],
         "activity_id": a["activity_id"]}
        for a in svc.store.list_alerts(athlete.id) if a.get("state", "active") == "active"
    ]
    return render_report(view.result, athlete_name=athlete.name, activities=view.activities,
                         symptoms=svc.store.list_symptoms(athlete.id), alerts=alerts, since=since, months=months)


def write_report(svc: Service, athlete: Athlete, out: Path, *, since: date | None = None,
                 months: int | None = REPORT_MONTHS) -> int:
    """Write :func:`report_html` to ``out``, readable by the owner only (0600, it holds symptoms),
    atomically (a temporary file renamed over ``out``); returns its size in bytes."""
    from loadmon.service.files import write_private_text

    return write_private_text(out, report_html(svc, athlete, since=since, months=months))
