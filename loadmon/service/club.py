"""The club view: one row per athlete (7-day distance, ramp, ACWR, spikes, symptoms, alerts, risk).

:func:`club_status` reads the whole club in a handful of queries, whatever its size: the
athletes (1), their activities (one query per :data:`ACTIVITY_BATCH` athletes, so a club of
1,000 athletes with years of history never sits in memory at once), their symptoms (1) and
their alerts (2: the latest per athlete and those of the last 7 days). The numbers are then
computed per athlete with the pure engine, exactly as ``loadmon status`` computes them (the
whole history, so warm-up and EWMA seeds are the same).

Risk (``risk``: ``level``, ``score``, ``reasons``) is a triage order for a coach, not a
diagnosis. Each signal on the athlete-local day D adds points and may raise the level
(thresholds are the alert rules' own ``[alerts.rules]`` keys; defaults shown):

- ACWR EWMA of distance >= ``acwr_danger`` (1.5, danger zone): 40 points, level high;
  >= ``acwr_caution`` (1.3, caution zone): 20, elevated.
- Alerts dated D-6..D: any danger one 30 points, level high; else any warning one 15,
  elevated; +5 per further danger/warning alert (at most +15).
- Active symptoms: 3 x the highest severity s; level high when s >= ``symptom_danger_severity``
  (5), elevated when s >= ``symptom_min_severity`` (3).
- Weekly ramp (when the last 7 days reach ``weekly_ramp_min_km``, 15 km): above
  ``weekly_ramp_danger_pct`` (30 %) 20 points, above ``weekly_ramp_pct`` (10 %) 10; elevated.
- A run dated D-6..D above the <=10 % single-run spike band (Frandsen 2025):
  20 x (hazard ratio - 1) = 13 (>10-30 %), 10 (>30-100 %) or 26 (>100 %); elevated.

Sorting by risk: level (high, elevated, ok, no data), then score (highest first), then name.
An athlete without any activity up to D has level ``no data`` (unless a symptom or alert
raises it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from alerts.plan import NOTICE_RULES
from loadmon.config import Config
from loadmon.domain import Activity, Athlete, Symptom
from loadmon.engine import DISTANCE, compute_load
from loadmon.service.context import Service
from loadmon.service.load import _end_of_day, active_symptoms, engine_settings, today_for

ACTIVITY_BATCH = 200  # athletes per activities query
RECENT_DAYS = 7  # alerts and spikes of the last 7 days (D-6..D) count for the risk
RUN_LOOKBACK_DAYS = 30  # "last run" is the latest run of D-29..D
LEVELS = ("high", "elevated", "ok", "no data")
SORTS = ("risk", "name")
#: sources whose data only its own athlete may see: Strava's API Agreement (docs/web.md, "Club")
PRIVATE_SOURCES = frozenset({"strava"})

__all__ = ["ACTIVITY_BATCH", "LEVELS", "SORTS", "PRIVATE_SOURCES", "club_status", "club_view", "risk_of", "sort_rows", "without_sources"]


def _chunks(items: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def club_status(svc: Service, day: date | None = None, *, sort: str = "risk",
                athletes: Sequence[Athlete] | None = None, hide_sources: frozenset[str] = frozenset(),
                shown_in_full: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """One JSON-ready dict per athlete (keys below), sorted by ``sort`` (risk | name).

    ``day``: the same local day for everybody (default: each athlete's local today).
    Keys: athlete, athlete_id, timezone, date, activities (counted up to the day),
    distance_7d_km, ramp_pct, ramp_reason, acwr_ewma, acwr_zone, acwr_reason,
    last_run {local_date, distance_km, spike_band, spike_hrr, spike_reason} | None,
    symptoms {active, max_severity}, alerts_7d {danger, warning, info}, last_alert
    {rule, severity, local_date} | None, risk {level, score, reasons};
    with ``hide_sources`` also hidden {activities, alerts, only}.

    ``hide_sources`` (e.g. ``{"strava"}``, for a coach: Strava's display rule): every athlete's
    numbers are computed without the activities of those sources (a copy of a hidden run from
    another source counts instead), and the alerts of an athlete who has any such activity are
    left out (they were computed with them); ``hidden``: how many activities were left out,
    ``alerts`` 1 when the alerts were, ``only`` 1 when the athlete has no other activity
    (Strava-only: the page says so instead of showing numbers).
    ``shown_in_full``: athlete ids exempt from ``hide_sources`` (the viewer's own athlete).
    """
    if sort not in SORTS:
        from loadmon.errors import ValidationError

        raise ValidationError(f"--sort: {sort!r} is not allowed (allowed: {', '.join(SORTS)})")
    people = list(athletes) if athletes is not None else svc.store.list_athletes()
    if not people:
        return []
    days = {a.id: day or today_for(svc, a) for a in people}
    ids = [a.id for a in people]
    last_day = max(days.values())
    first_recent = min(days.values()) - timedelta(days=RECENT_DAYS - 1)
    symptoms = svc.store.list_symptoms_for(ids)
    # the morning check-in messages are notices, not warnings: not in the alert counts nor the last alert
    alerts = svc.store.alert_summary_for(ids, since=first_recent, until=last_day, exclude_rules=sorted(NOTICE_RULES))
    rows: list[dict[str, Any]] = []
    for batch in _chunks(people, ACTIVITY_BATCH):
        acts = svc.store.list_activities_for([a.id for a in batch], until=last_day)
        for athlete in batch:
            mine = acts.get(athlete.id, [])
            summary = alerts.get(athlete.id, {"last": None, "recent": []})
            hidden = {"activities": 0, "alerts": 0, "only": 0}  # alerts: 1 when left out; only: 1 when nothing is left
            if hide_sources and athlete.id not in shown_in_full:
                mine, hidden["activities"] = without_sources(mine, hide_sources)
                if hidden["activities"]:
                    hidden["alerts"] = 1
                    hidden["only"] = int(not any(not a.deleted and not a.excluded for a in mine))
                    summary = {"last": None, "recent": []}
            row = _row(svc, athlete, days[athlete.id], mine, symptoms.get(athlete.id, []), summary)
            if hide_sources:
                row["hidden"] = hidden
            rows.append(row)
    return sort_rows(rows, sort)


def club_view(svc: Service, viewer_athlete_id: int, day: date | None = None, *, sort: str = "risk") -> list[dict[str, Any]]:
    """The club page of a coach or admin: :func:`club_status` without the other athletes'
    :data:`PRIVATE_SOURCES` data (their own athlete's row is complete)."""
    return club_status(svc, day, sort=sort, hide_sources=PRIVATE_SOURCES, shown_in_full=frozenset({viewer_athlete_id}))


def without_sources(activities: list[Activity], sources: frozenset[str]) -> tuple[list[Activity], int]:
    """``activities`` without those of ``sources``, and how many were left out. A kept copy of a
    left-out run (``duplicate_of`` it) counts in its place: the first such copy per run."""
    hidden_ids = {a.id for a in activities if a.source in sources}
    if not hidden_ids:
        return activities, 0
    promoted: set[int] = set()
    kept: list[Activity] = []
    for a in activities:
        if a.id in hidden_ids:
            continue
        if a.duplicate_of in hidden_ids and a.duplicate_of not in promoted and not a.deleted and not a.excluded:
            promoted.add(a.duplicate_of)
            a = replace(a, duplicate_of=None)
        kept.append(a)
    return kept, len(hidden_ids)


def sort_rows(rows: list[dict[str, Any]], sort: str = "risk") -> list[dict[str, Any]]:
    if sort == "name":
        return sorted(rows, key=lambda r: (r["athlete"].lower(), r["athlete_id"]))
    return sorted(rows, key=lambda r: (LEVELS.index(r["risk"]["level"]), -r["risk"]["score"], r["athlete"].lower(),
                                       r["athlete_id"]))


def _row(svc: Service, athlete: Athlete, day: date, activities: list[Activity], symptoms: list[Symptom],
         alerts: dict[str, Any]) -> dict[str, Any]:
    since = day - timedelta(days=RUN_LOOKBACK_DAYS - 1)
    acts = [a for a in activities if a.local_date <= day]
    result = compute_load(acts, athlete, engine_settings(svc.config), until=day, since=since)
    row: dict[str, Any] = {
        "athlete": athlete.name, "athlete_id": athlete.id, "timezone": athlete.timezone, "date": day.isoformat(),
        "activities": sum(1 for a in acts if a.duplicate_of is None),
        "distance_7d_km": None, "ramp_pct": None, "ramp_reason": None,
        "acwr_ewma": None, "acwr_zone": None, "acwr_reason": None, "last_run": None,
    }
    series = result.channels.get(DISTANCE)
    if series is not None and series.available and series.first_day is not None and series.first_day <= day:
        m = series.day(day)
        row.update(distance_7d_km=round(m.acute_7d, 3), ramp_pct=None if m.ramp_pct is None else round(m.ramp_pct, 1),
                   ramp_reason=m.ramp_reason, acwr_ewma=None if m.acwr_ewma is None else round(m.acwr_ewma, 3),
                   acwr_zone=m.acwr_zone(m.acwr_ewma), acwr_reason=m.acwr_ewma_reason)
    else:
        reason = series.reason if series is not None and not series.available else "no activities yet"
        row.update(ramp_reason=reason, acwr_reason=reason)
    runs = [f for f in result.findings if since <= f.local_date <= day]
    if runs:
        f = runs[-1]
        row["last_run"] = {"activity_id": f.activity_id, "local_date": f.local_date.isoformat(),
                           "distance_km": f.distance_km, "spike_band": f.spike_band, "spike_hrr": f.spike_hrr,
                           "spike_reason": f.spike_reason}
    active = active_symptoms(symptoms, at=_end_of_day(day, athlete.timezone))
    row["symptoms"] = {"active": len(active), "max_severity": max((s.severity for s in active), default=None)}
    recent_from = day - timedelta(days=RECENT_DAYS - 1)
    recent = [a for a in alerts["recent"] if recent_from <= a["local_date"] <= day]
    row["alerts_7d"] = {sev: sum(1 for a in recent if a["severity"] == sev) for sev in ("danger", "warning", "info")}
    last = alerts["last"]
    row["last_alert"] = None if last is None else {"rule": last["rule"], "severity": last["severity"],
                                                   "local_date": last["local_date"].isoformat()}
    row["risk"] = risk_of(row, svc.config, has_data=result.history_start is not None)
    return row


def risk_of(row: dict[str, Any], config: Config, *, has_data: bool = True) -> dict[str, Any]:
    """The risk level, score and reasons of one club row (the table in the module doc)."""
    rules = config.alerts.rules
    level = 2  # index in LEVELS: ok
    score = 0.0
    reasons: list[str] = []

    def signal(points: float, lvl: str | None, why: str) -> None:
        nonlocal level, score
        score += points
        if lvl is not None:
            level = min(level, LEVELS.index(lvl))
        reasons.append(why)

    acwr = row.get("acwr_ewma")
    if acwr is not None and acwr >= rules.acwr_danger:
        signal(40, "high", f"ACWR {acwr:.2f} >= {rules.acwr_danger:g} (danger zone)")
    elif acwr is not None and acwr >= rules.acwr_caution:
        signal(20, "elevated", f"ACWR {acwr:.2f} >= {rules.acwr_caution:g} (caution zone)")
    alerts = row.get("alerts_7d") or {}
    n_alerts = sum(alerts.get(k, 0) for k in ("danger", "warning"))
    extra = min(15, 5 * max(0, n_alerts - 1))
    if alerts.get("danger"):
        signal(30 + extra, "high", f"{n_alerts} alert(s) in the last 7 days, {alerts['danger']} danger")
    elif alerts.get("warning"):
        signal(15 + extra, "elevated", f"{n_alerts} warning alert(s) in the last 7 days")
    sev = (row.get("symptoms") or {}).get("max_severity")
    if sev is not None:
        lvl = "high" if sev >= rules.symptom_danger_severity else "elevated" if sev >= rules.symptom_min_severity else None
        signal(3 * sev, lvl, f"active symptom, severity {sev}")
    ramp, km = row.get("ramp_pct"), row.get("distance_7d_km")
    if ramp is not None and km is not None and km >= rules.weekly_ramp_min_km:
        if ramp > rules.weekly_ramp_danger_pct:
            signal(20, "elevated", f"weekly ramp {ramp:+.0f} % > {rules.weekly_ramp_danger_pct:g} %")
        elif ramp > rules.weekly_ramp_pct:
            signal(10, "elevated", f"weekly ramp {ramp:+.0f} % > {rules.weekly_ramp_pct:g} %")
    run = row.get("last_run")
    if run and run.get("spike_hrr") and run["spike_hrr"] > 1.0:
        run_day = date.fromisoformat(run["local_date"])
        if (date.fromisoformat(row["date"]) - run_day).days < RECENT_DAYS:
            signal(round(20 * (run["spike_hrr"] - 1.0)), "elevated",
                   f"run on {run['local_date']} in spike band {run['spike_band']} (hazard ratio {run['spike_hrr']:g})")
    if not has_data and level == 2:
        level = LEVELS.index("no data")
    return {"level": LEVELS[level], "score": round(score, 1), "reasons": reasons}
