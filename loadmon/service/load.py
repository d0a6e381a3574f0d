"""Load status and reports: stored activities -> the pure engine -> plain data for CLI and daemon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loadmon.config import Config
from loadmon.domain import Activity, Athlete, Symptom
from loadmon.engine import ACWR_KINDS, EngineSettings, LoadResult, compute_load
from loadmon.service.context import Service

STATUS_CHANNELS = ("distance_km", "descent_m", "duration_min", "trimp", "srpe")


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


def compute(svc: Service, athlete: Athlete, *, day: date | None = None, since: date | None = None) -> LoadView:
    day = day or today_for(svc, athlete)
    activities = svc.store.list_activities(athlete.id, until=day)
    result = compute_load(activities, athlete, engine_settings(svc.config), until=day, since=since)
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


def status(svc: Service, athlete: Athlete, *, day: date | None = None) -> dict[str, Any]:
    """Everything `loadmon status` shows, as stable JSON-friendly keys (documented in the README)."""
    view = compute(svc, athlete, day=day)
    day = view.day
    result = view.result
    channels = {name: _channel_status(result, name, day) for name in STATUS_CHANNELS}
    runs = [f for f in result.findings if f.local_date <= day]
    last = runs[-1] if runs else None
    window_start = day - timedelta(days=29)
    recent = [f for f in runs if f.local_date >= window_start and f.distance_km]
    longest = max(recent, key=lambda f: f.distance_km, default=None)
    symptoms = active_symptoms(svc.store.list_symptoms(athlete.id), at=_end_of_day(day, athlete.timezone))
    return {
        "date": day.isoformat(),
        "athlete": athlete.name,
        "timezone": athlete.timezone,
        "history_start": result.history_start.isoformat() if result.history_start else None,
        "channels": channels,
        "longest_run_30d": None if longest is None else {
            "activity_id": longest.activity_id, "local_date": longest.local_date.isoformat(),
            "distance_km": longest.distance_km},
        "last_run": None if last is None else last.to_dict(),
        "active_symptoms": [symptom_dict(s) for s in symptoms],
    }


def _end_of_day(day: date, tz: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(tz))


def active_symptoms(symptoms: list[Symptom], *, at: datetime) -> list[Symptom]:
    return [s for s in symptoms if s.started_at <= at and (s.resolved_at is None or s.resolved_at > at)]


def symptom_dict(s: Symptom) -> dict[str, Any]:
    return {"id": s.id, "site": s.site, "side": s.side, "location": s.location, "severity": s.severity,
            "started_at": s.started_at.isoformat(), "resolved_at": s.resolved_at.isoformat() if s.resolved_at else None,
            "note": s.note}


def report_html(svc: Service, athlete: Athlete, *, since: date | None = None, day: date | None = None) -> str:
    """The self-contained HTML report (charts inlined; no network needed to view it)."""
    from loadmon.report import render_report

    view = compute(svc, athlete, day=day)
    alerts = [
        {"local_date": a["local_date"], "rule": a["rule"], "severity": a["severity"], "message": a["message"],
         "activity_id": a["activity_id"]}
        for a in svc.store.list_alerts(athlete.id) if a.get("state", "active") == "active"
    ]
    return render_report(view.result, athlete_name=athlete.name, activities=view.activities,
                         symptoms=svc.store.list_symptoms(athlete.id), alerts=alerts, since=since)
