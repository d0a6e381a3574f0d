"""The pre-run check (`loadmon plan check`, the web app's planned run) and the day's limits.

Reads the athlete's activities and symptoms, hands them to the pure :func:`alerts.plan.check_plan`
and returns its :class:`~alerts.plan.PlanCheck`; :func:`plan_json` gives the JSON keys of
``loadmon plan check --json`` and ``GET /api/plan``. Nothing is stored.

The planned start: now when the day is today (the athlete's zone), otherwise 09:00 local on
that day (a morning run: the readings logged before it count, the returned-early window is
measured to it).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from alerts.plan import PlanCheck, PlannedRun, check_plan
from alerts.rules.episodes import episode_at, episodes
from loadmon.domain import Athlete
from loadmon.errors import ValidationError
from loadmon.service.alerting import rule_thresholds
from loadmon.service.context import Service
from loadmon.service.load import engine_settings, today_for

__all__ = ["check", "day_limits", "in_comeback", "plan_json", "limits_json", "PLANNED_START", "MAX_PLANNED_KM", "MAX_PLANNED_DESCENT_M"]

#: The planned start on a day other than today (athlete-local).
PLANNED_START = time(9, 0)
MAX_PLANNED_KM = 400.0
MAX_PLANNED_DESCENT_M = 20000.0


def _number(value: Any, what: str, limit: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} is not a number (allowed: 0-{limit:g})") from None
    if not math.isfinite(number) or not 0 <= number <= limit:
        raise ValidationError(f"{what} {value!r} is not allowed (allowed: 0-{limit:g})")
    return number


def check(svc: Service, athlete: Athlete, *, distance_km: Any, descent_m: Any = None, day: date | None = None) -> PlanCheck:
    """Evaluate a planned run of ``distance_km`` (and ``descent_m`` when known) on ``day`` (default today)."""
    distance = _number(distance_km, "planned distance (km)", MAX_PLANNED_KM)
    if distance <= 0:
        raise ValidationError(f"planned distance (km) {distance_km!r} is not allowed (allowed: more than 0)")
    descent = None if descent_m in (None, "") else _number(descent_m, "planned descent (m)", MAX_PLANNED_DESCENT_M)
    return _check(svc, athlete, day, distance_km=distance, descent_m=descent)


def day_limits(svc: Service, athlete: Athlete, day: date | None = None) -> PlanCheck:
    """The limits for ``day`` (default today) without a planned run: a check of a nominal 1 km run
    whose findings are dropped; the comeback descent cap is the plain floor (no distance to scale it)."""
    result = _check(svc, athlete, day, distance_km=1.0, nominal=True)
    return PlanCheck(planned=result.planned, verdict="ok", limits=result.limits, findings=())


def _check(svc: Service, athlete: Athlete, day: date | None, **run: Any) -> PlanCheck:
    """:func:`alerts.plan.check_plan` of a run starting now (today) or at :data:`PLANNED_START` on ``day``."""
    zone = ZoneInfo(athlete.timezone)
    today = today_for(svc, athlete)
    day = day or today
    start = svc.clock().astimezone(zone) if day == today else datetime.combine(day, PLANNED_START, tzinfo=zone)
    return check_plan(
        athlete=athlete,
        activities=svc.store.list_activities(athlete.id, until=day),
        symptoms=svc.store.list_symptoms(athlete.id),
        planned=PlannedRun(day=day, start_time=start, **run),
        settings=engine_settings(svc.config),
        thresholds=rule_thresholds(svc.config),
    )


def in_comeback(svc: Service, athlete: Athlete) -> bool:
    """True while a lower-limb symptom episode is open or resolved within the comeback days (cheap: no load)."""
    thresholds = rule_thresholds(svc.config)
    return episode_at(episodes(svc.store.list_symptoms(athlete.id), thresholds), svc.clock(), thresholds) is not None


def _r(value: float | None, nd: int) -> float | None:
    return None if value is None else round(value, nd)


def limits_json(result: PlanCheck) -> dict[str, Any]:
    lim = result.limits
    return {
        "max_distance_km": _r(lim.max_distance_km, 1),
        "max_distance_reason": lim.max_distance_reason,
        "max_descent_m": _r(lim.max_descent_m, 0),
        "max_descent_reason": lim.max_descent_reason,
        "comeback_max_distance_km": _r(lim.comeback_max_distance_km, 1),
        "comeback_max_descent_m": _r(lim.comeback_max_descent_m, 0),
        "comeback": lim.comeback_reason,
        "rest": lim.rest,
        "tighter_than_usual": lim.tighter,
        "tighter_because": list(lim.tighter_because),
    }


def plan_json(result: PlanCheck) -> dict[str, Any]:
    """The JSON of a plan check: ``date``, ``planned``, ``verdict``, ``limits``, ``findings[]``."""
    p = result.planned
    return {
        "date": p.day.isoformat(),
        "planned": {
            "distance_km": round(p.distance_km, 2),
            "descent_m": _r(p.descent_m, 0),
            "start": p.start_time.isoformat(timespec="minutes"),
        },
        "verdict": result.verdict,
        "limits": limits_json(result),
        "findings": [
            {
                "rule": a.rule,
                "severity": str(a.severity),
                "title": a.title,
                "message": a.message,
                "numbers": dict(a.numbers),
                "rule_text": a.rule_text,
                "evidence": a.evidence,
            }
            for a in result.findings
        ],
        "stored": False,
    }
