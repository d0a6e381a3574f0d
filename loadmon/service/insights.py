"""The personal back-test (``loadmon insights``, the web app's Insights page): the stored history ->
:func:`alerts.backtest.backtest` -> a JSON document with stable keys (``docs/insights.md``).

Exploratory, never a diagnosis: the document says so (``exploratory``: true, ``note``) and carries the
counts each number rests on.
"""

from __future__ import annotations

from typing import Any

from alerts.backtest import Backtest, BacktestInput, EpisodeLoad, Measure, NotCounted, RuleRecord, backtest
from loadmon.domain import Athlete
from loadmon.service.alerting import rule_thresholds
from loadmon.service.context import Service
from loadmon.service.load import compute

__all__ = ["Backtest", "insights", "insights_json"]

#: Decimals in JSON by unit: km 0.01, metres 0.1, percentages 0.1, ratios 0.001.
DECIMALS = {"km": 2, "m": 1, "%": 1, "x": 3, "": 0}


def insights(svc: Service, athlete: Athlete) -> Backtest:
    """The back-test of ``athlete`` over the whole stored history, up to the athlete's local today."""
    view = compute(svc, athlete)
    symptoms = svc.store.list_symptoms(athlete.id)
    return backtest(
        BacktestInput(
            athlete=athlete,
            activities=view.activities,
            symptoms=symptoms,
            load=view.result,
            thresholds=rule_thresholds(svc.config),
        )
    )


def _round(value: float | None, unit: str) -> float | int | None:
    if value is None:
        return None
    if unit == "":
        return int(round(value))
    return round(value, DECIMALS.get(unit, 3)) + 0.0  # + 0.0: never "-0.0"


def _measure(m: Measure) -> dict[str, Any]:
    return {
        "key": m.key,
        "label": m.label,
        "unit": m.unit,
        "value": _round(m.value, m.unit),
        "reason": m.reason,
        "usual": _round(m.usual, m.unit),
        "usual_reason": m.usual_reason,
    }


def _episode(e: EpisodeLoad) -> dict[str, Any]:
    return {
        "symptom_id": e.symptom_id,
        "began": e.began.isoformat(),
        "began_at": e.began_at.isoformat(),
        "site": e.site,
        "side": e.side,
        "peak_severity": e.peak_severity,
        "window_first_day": e.window_first_day.isoformat(),
        "window_last_day": e.window_last_day.isoformat(),
        "measures": {m.key: _measure(m) for m in e.measures},
        "spike_band": e.spike_band,
        "warned_by": list(e.warned_by),
    }


def _rule(r: RuleRecord) -> dict[str, Any]:
    return {
        "rule": r.rule,
        "episodes_warned": r.episodes_warned,
        "episodes_total": r.episodes_total,
        "alerts_total": r.alerts_total,
        "alerts_followed": r.alerts_followed,
        "alerts_nothing_following": r.alerts_nothing_following,
        "alerts_too_recent": r.alerts_too_recent,
        "history_months": round(r.history_months, 1),
        "nothing_following_per_month": None if r.nothing_following_per_month is None else round(r.nothing_following_per_month, 2),
        "too_few_episodes": r.too_few_episodes,
    }


def _not_counted(n: NotCounted) -> dict[str, Any]:
    return {"rule": n.rule, "alerts_total": n.alerts_total, "why": n.why}


def insights_json(bt: Backtest) -> dict[str, Any]:
    """The document of ``loadmon insights --json`` (stable snake_case keys; numbers rounded to what they mean)."""
    return {
        "athlete": bt.athlete_name,
        "exploratory": bt.exploratory,
        "first_day": bt.first_day.isoformat() if bt.first_day else None,
        "last_day": bt.last_day.isoformat() if bt.last_day else None,
        "history_months": round(bt.history_months, 1),
        "window_days": bt.window_days,
        "quiet_windows": bt.quiet_windows,
        "too_few_episodes": bt.too_few_episodes,
        "episodes": [_episode(e) for e in bt.episodes],
        "rules": [_rule(r) for r in bt.rules],
        "not_counted": [_not_counted(n) for n in bt.not_counted],
        "note": bt.note,
    }
