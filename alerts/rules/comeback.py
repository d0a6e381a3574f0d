"""The comeback rules: the way back from a lower-limb symptom (``alerts.rules.episodes`` defines
episodes, readings and tolerated runs). Each is a per-run rule: one alert per run, no cooldown.

* ``comeback_spike``: while an episode is watched (open, or resolved fewer than 28 days ago), a
  run more than ``comeback_spike_pct`` (10%) longer than the longest *tolerated* run since the
  episode began; with no tolerated run yet, a run longer than ``comeback_start_km`` (3 km).
  Warning; danger above twice that base.
* ``comeback_hills``: while an episode is watched, a run whose descent is above
  ``comeback_hills_floor_m`` (50 m) or ``comeback_hills_floor_m_per_km`` (10 m/km); a run that
  ``hilly_after_symptoms`` already alerts on is left to it. Warning.
* ``pain_next_morning``: the first reading after a run (within 36 h, before the next run) is
  higher than the reading before it, for an unresolved lower-limb symptom. Warning; dated the
  day of that reading.
* ``returned_early``: a run within ``returned_early_days`` (3) of a reading at
  ``returned_early_severity`` (5) or more, with no reading at or below
  ``returned_early_clear_severity`` (2), nor the resolve, in between. Danger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from alerts.alert import Alert
from alerts.rules import evidence
from alerts.rules.base import RuleInput, activity_key
from alerts.rules.episodes import (
    KNEE_SITES,
    Episode,
    PainChange,
    episode_at,
    episodes,
    pain_change,
    unanswered_high_reading,
)
from alerts.rules.hilly import raises_hilly_after_symptoms, symptom_label
from alerts.rules.run_spike import run_label
from alerts.rules.text import exceeds, km, km_short, metres, pct, r0, r1, weekday_date
from loadmon.domain import LOWER_LIMB_SITES, AlertSeverity
from loadmon.engine import ActivityFinding, local_date_of
from loadmon.rule_thresholds import RuleThresholds

__all__ = [
    "comeback_spike",
    "comeback_hills",
    "pain_next_morning",
    "returned_early",
    "SHOWN",
    "ComebackBase",
    "comeback_base",
    "runs_in_order",
    "hills_limit_m",
    "pain_rises",
]

SHOWN: dict[str, tuple[tuple[str, str, str], ...]] = {
    "comeback_spike": (
        ("distance_km", "This run", "km"),
        ("base_km", "Longest tolerated run since the symptom began (or the start distance)", "km"),
        ("limit_km", "Comeback limit", "km"),
        ("episode_severity", "Symptom severity at the run (0-10)", ""),
    ),
    "comeback_hills": (
        ("descent_m", "Descent of this run", "m"),
        ("descent_per_km", "Descent per km", "m/km"),
        ("limit_m", "Comeback descent limit", "m"),
    ),
    "pain_next_morning": (
        ("severity_before", "Pain before the run (0-10)", ""),
        ("severity_after", "Pain at the next check-in (0-10)", ""),
        ("distance_km", "The run", "km"),
    ),
    "returned_early": (
        ("high_severity", "Pain reading (0-10)", ""),
        ("hours_since_high", "Hours from that reading to the run", "h"),
        ("clear_severity", "A reading at or below this clears it", ""),
    ),
}

_RULE_TEXT = {
    "comeback_spike": (
        "Comeback spike: while a lower-limb symptom of severity {episode_min_severity}+ is open and for {comeback_days_after} days "
        "after it is resolved, alert when a run is more than {comeback_spike_pct:g}% longer than the longest run since it "
        "began whose next check-in showed no more pain, or, before such a run, longer than {comeback_start_km:g} km; "
        "danger above twice that base."
    ),
    "comeback_hills": (
        "Comeback hills: while a lower-limb symptom of severity {episode_min_severity}+ is open and for {comeback_days_after} days "
        "after it is resolved, alert when a run descends more than {comeback_hills_floor_m:g} m or "
        "{comeback_hills_floor_m_per_km:g} m/km (runs that hilly_after_symptoms alerts on are left to it)."
    ),
    "pain_next_morning": (
        "Pain next morning: alert when the first reading of an unresolved lower-limb symptom within "
        "{pain_next_morning_hours:g} h after a run (and before the next run) is higher than the reading before the run."
    ),
    "returned_early": (
        "Returned early: alert (danger) on a run within {returned_early_days:g} days of a lower-limb symptom reading of "
        "{returned_early_severity}+ when no reading of {returned_early_clear_severity} or less, nor the resolve, came in "
        "between."
    ),
}


def rule_text(rule: str, t: RuleThresholds) -> str:
    return _RULE_TEXT[rule].format(**{name: getattr(t, name) for name in RuleThresholds.__dataclass_fields__})


def runs_in_order(inp: RuleInput) -> list[ActivityFinding]:
    return sorted(inp.load.findings, key=lambda f: (f.start_time, f.activity_id))


def _run_end(inp: RuleInput, f: ActivityFinding) -> datetime:
    a = inp.activities_by_id.get(f.activity_id)
    seconds = (a.elapsed_time_s or a.moving_time_s or 0.0) if a is not None else 0.0
    return f.start_time + timedelta(seconds=seconds)


def pain_rises(inp: RuleInput, runs: Sequence[ActivityFinding]) -> dict[int, PainChange]:
    """Per run (activity id): the biggest rise of pain from before it to its next check-in."""
    out: dict[int, PainChange] = {}
    starts = [s.started_at for s in inp.symptoms if s.site in LOWER_LIMB_SITES]
    if not starts:
        return out
    first = min(starts)  # a run before every symptom has no reading before it
    for i, f in enumerate(runs):
        if f.start_time < first:
            continue
        nxt = runs[i + 1].start_time if i + 1 < len(runs) else None
        end = _run_end(inp, f)
        changes = [c for s in inp.symptoms if (c := pain_change(s, f.start_time, end, nxt, inp.thresholds)) is not None]
        rose = [c for c in changes if c.rose]
        if rose:
            out[f.activity_id] = max(rose, key=lambda c: (c.after - c.before, c.after, c.symptom.id))
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class ComebackBase:
    """What a run at some time is measured against in a comeback."""

    episode: Episode
    base_km: float  # the longest tolerated run since the episode began, or the start distance
    base_run: ActivityFinding | None  # that run (None: the start distance)
    limit_km: float  # the longest run that does not alert
    runs_since: int
    not_tolerated: int


def comeback_base(
    inp: RuleInput,
    runs: Sequence[ActivityFinding],
    rises: dict[int, PainChange],
    when: datetime,
    before_id: int | None = None,
    all_episodes: Sequence[Episode] | None = None,
) -> ComebackBase | None:
    """The comeback base at ``when`` (runs that started before it, other than ``before_id``); None outside episodes.
    ``all_episodes``: the athlete's episodes when the caller has them already."""
    t = inp.thresholds
    ep = episode_at(episodes(inp.symptoms, t) if all_episodes is None else all_episodes, when, t)
    if ep is None:
        return None
    since = [g for g in runs if ep.began_at <= g.start_time < when and g.activity_id != before_id and g.distance_km is not None]
    tolerated = [g for g in since if g.activity_id not in rises]
    base_run = max(tolerated, key=lambda g: (g.distance_km or 0.0, g.start_time), default=None)
    if base_run is not None and base_run.distance_km is not None:
        base = base_run.distance_km
        limit = base * (1.0 + t.comeback_spike_pct / 100.0)
    else:
        base_run = None
        base = limit = t.comeback_start_km
    return ComebackBase(
        episode=ep, base_km=base, base_run=base_run, limit_km=limit, runs_since=len(since), not_tolerated=len(since) - len(tolerated)
    )


def hills_limit_m(distance_km: float | None, t: RuleThresholds) -> float:
    """The most descent a comeback run of ``distance_km`` may have without alerting."""
    if distance_km is None:
        return t.comeback_hills_floor_m
    return min(t.comeback_hills_floor_m, t.comeback_hills_floor_m_per_km * distance_km)


def _episode_numbers(ep: Episode, inp: RuleInput, when: datetime) -> dict[str, float | int | str | None]:
    s = ep.symptom
    tz = inp.athlete.timezone
    return {
        "symptom_id": s.id,
        "symptom_site": s.site,
        "symptom_side": s.side,
        "episode_began": local_date_of(ep.began_at, tz).isoformat(),
        "episode_resolved": local_date_of(ep.ended_at, tz).isoformat() if ep.ended_at else None,
        "episode_severity": s.severity_at(when),
        "days_after": inp.thresholds.comeback_days_after,
    }


def _episode_words(ep: Episode, inp: RuleInput) -> str:
    began = weekday_date(local_date_of(ep.began_at, inp.athlete.timezone))
    if ep.ended_at is None:
        return f"your {symptom_label(ep.symptom)} pain (since {began}, not resolved)"
    ended = weekday_date(local_date_of(ep.ended_at, inp.athlete.timezone))
    return f"your {symptom_label(ep.symptom)} pain (from {began}, resolved {ended})"


def _alert(
    inp: RuleInput,
    rule: str,
    f: ActivityFinding,
    severity: AlertSeverity,
    title: str,
    message: str,
    numbers: dict[str, float | int | str | None],
    text: str,
    day: date | None = None,
) -> Alert:
    return Alert(
        rule=rule,
        severity=severity,
        athlete_id=inp.athlete.id,
        athlete_name=inp.athlete.name,
        local_date=day or f.local_date,
        activity_id=f.activity_id,
        title=title,
        message=message,
        numbers=numbers,
        rule_text=rule_text(rule, inp.thresholds),
        evidence=text,
        dedupe_key=activity_key(rule, inp.athlete.id, f.activity_id),
    )


def comeback_spike(inp: RuleInput) -> list[Alert]:
    if not inp.symptoms:
        return []
    runs = runs_in_order(inp)
    rises = pain_rises(inp, runs)
    eps = episodes(inp.symptoms, inp.thresholds)
    out: list[Alert] = []
    for f in runs:
        if not inp.in_range(f.local_date) or f.distance_km is None:
            continue
        base = comeback_base(inp, runs, rises, f.start_time, before_id=f.activity_id, all_episodes=eps)
        if base is None or not exceeds(f.distance_km, base.limit_km):
            continue
        severity = AlertSeverity.DANGER if exceeds(f.distance_km, 2 * base.base_km) else AlertSeverity.WARNING
        ep_words = _episode_words(base.episode, inp)
        if base.base_run is not None:
            against = (
                f"{pct(inp.thresholds.comeback_spike_pct)} over your longest run since {ep_words} that your "
                f"next check-in tolerated ({km(base.base_km)} on {run_label(base.base_run)})"
            )
        else:
            against = f"the {km(base.base_km)} a first run after {ep_words} should stay within" + (
                f" ({base.not_tolerated} run{'s' if base.not_tolerated != 1 else ''} since then raised your "
                "pain the next morning, so none counts yet)"
                if base.not_tolerated
                else ""
            )
        message = (
            f"Your run on {run_label(f)}: {km(f.distance_km)}, more than {km(base.limit_km)}: {against}. "
            f"What to do: come back by small steps on flat ground - keep the next runs near "
            f"{km_short(base.limit_km)}, and lengthen them by about {pct(inp.thresholds.comeback_spike_pct)} "
            "only after a run whose next morning is no worse."
        )
        title = f"Comeback run of {km_short(f.distance_km)}: more than the {km_short(base.limit_km)} step"
        numbers: dict[str, float | int | str | None] = {
            "distance_km": r1(f.distance_km),
            "base_km": r1(base.base_km),
            "base_date": base.base_run.local_date.isoformat() if base.base_run else None,
            "limit_km": r1(base.limit_km),
            "start_km": inp.thresholds.comeback_start_km,
            "step_pct": inp.thresholds.comeback_spike_pct,
            "runs_since_episode": base.runs_since,
            "runs_not_tolerated": base.not_tolerated,
            **_episode_numbers(base.episode, inp, f.start_time),
        }
        out.append(_alert(inp, "comeback_spike", f, severity, title, message, numbers, evidence.COMEBACK_SPIKE))
    return out


def comeback_hills(inp: RuleInput) -> list[Alert]:
    t = inp.thresholds
    if not inp.symptoms:
        return []
    eps = episodes(inp.symptoms, t)
    out: list[Alert] = []
    for f in runs_in_order(inp):
        if not inp.in_range(f.local_date) or f.descent_m is None:
            continue
        ep = episode_at(eps, f.start_time, t)
        if ep is None:
            continue
        by_m = exceeds(f.descent_m, t.comeback_hills_floor_m)
        by_km = f.descent_per_km is not None and exceeds(f.descent_per_km, t.comeback_hills_floor_m_per_km)
        if not (by_m or by_km) or raises_hilly_after_symptoms(inp, f):
            continue
        limit = hills_limit_m(f.distance_km, t)
        per_km = f", {f.descent_per_km:.0f} m/km" if f.descent_per_km is not None else ""
        why = (
            " Downhill running loads the front of the thigh and the knee eccentrically (braking), the load a "
            "sore knee or IT band tolerates least."
            if ep.symptom.site in KNEE_SITES
            else ""
        )
        message = (
            f"Your run on {run_label(f)} descended {metres(f.descent_m)}{per_km} during the comeback from "
            f"{_episode_words(ep, inp)}: above the comeback floor of {metres(t.comeback_hills_floor_m)} or "
            f"{t.comeback_hills_floor_m_per_km:g} m/km.{why} What to do: keep your runs flat (under "
            f"{metres(limit)} of descent) until the pain has settled for a few weeks, then add hills back "
            "gradually."
        )
        title = f"Hilly comeback run: {metres(f.descent_m)} of descent"
        numbers: dict[str, float | int | str | None] = {
            "descent_m": r0(f.descent_m),
            "descent_per_km": r1(f.descent_per_km),
            "limit_m": r0(limit),
            "distance_km": r1(f.distance_km),
            "floor_m": t.comeback_hills_floor_m,
            "floor_m_per_km": t.comeback_hills_floor_m_per_km,
            "hilly_by": "+".join(n for n, hit in (("m", by_m), ("m_per_km", by_km)) if hit),
            **_episode_numbers(ep, inp, f.start_time),
        }
        out.append(_alert(inp, "comeback_hills", f, AlertSeverity.WARNING, title, message, numbers, evidence.COMEBACK_HILLS))
    return out


def pain_next_morning(inp: RuleInput) -> list[Alert]:
    if not inp.symptoms:
        return []
    runs = runs_in_order(inp)
    tz = inp.athlete.timezone
    out: list[Alert] = []
    rises = pain_rises(inp, runs)
    for f in runs:
        change = rises.get(f.activity_id)
        if change is None:
            continue
        day = local_date_of(change.after_at, tz)
        if not inp.in_range(day):
            continue
        where = symptom_label(change.symptom)
        dist = f" ({km(f.distance_km)})" if f.distance_km is not None else ""
        message = (
            f"Your {where} pain was {change.after}/10 at the check-in after your run on {run_label(f)}{dist}, "
            f"up from {change.before}/10 before it. In the pain-monitoring model the pain the next morning must "
            "not be higher than before the run. What to do: reduce the next run (shorter, flat, easy) or rest, "
            "and lengthen again only after a run whose next morning is no worse."
        )
        title = f"{where[:1].upper()}{where[1:]} pain rose after your run: {change.before} -> {change.after}/10"
        numbers: dict[str, float | int | str | None] = {
            "severity_before": change.before,
            "severity_after": change.after,
            "before_at": change.before_at.isoformat(),
            "after_at": change.after_at.isoformat(),
            "distance_km": r1(f.distance_km),
            "symptom_id": change.symptom.id,
            "symptom_site": change.symptom.site,
            "symptom_side": change.symptom.side,
            "window_hours": inp.thresholds.pain_next_morning_hours,
        }
        out.append(_alert(inp, "pain_next_morning", f, AlertSeverity.WARNING, title, message, numbers, evidence.PAIN_NEXT_MORNING, day=day))
    return out


def returned_early(inp: RuleInput) -> list[Alert]:
    t = inp.thresholds
    if not inp.symptoms:
        return []
    out: list[Alert] = []
    for f in runs_in_order(inp):
        if not inp.in_range(f.local_date):
            continue
        highs = [h for s in inp.symptoms if (h := unanswered_high_reading(s, f.start_time, t)) is not None]
        if not highs:
            continue
        h = max(highs, key=lambda x: (x.severity, x.at, x.symptom.id))
        where = symptom_label(h.symptom)
        hours = (f.start_time - h.at).total_seconds() / 3600.0
        high_day = weekday_date(local_date_of(h.at, inp.athlete.timezone))
        dist = f" ({km(f.distance_km)})" if f.distance_km is not None else ""
        message = (
            f"You ran on {run_label(f)}{dist} {_hours(hours)} after your {where} pain read {h.severity}/10 "
            f"({high_day}), with no reading of {t.returned_early_clear_severity}/10 or less since. Pain above "
            f"5/10 is too much in the pain-monitoring model, and a new injury is most likely where the last one "
            f"was. What to do: rest until a check-in reads {t.returned_early_clear_severity}/10 or less, then "
            f"come back with {km(t.comeback_start_km)} on flat ground; if the pain stays, have it checked."
        )
        title = f"Back running {_hours(hours)} after {where} pain of {h.severity}/10"
        numbers: dict[str, float | int | str | None] = {
            "high_severity": h.severity,
            "high_at": h.at.isoformat(),
            "hours_since_high": r1(hours),
            "clear_severity": t.returned_early_clear_severity,
            "window_days": t.returned_early_days,
            "distance_km": r1(f.distance_km),
            "symptom_id": h.symptom.id,
            "symptom_site": h.symptom.site,
            "symptom_side": h.symptom.side,
        }
        out.append(_alert(inp, "returned_early", f, AlertSeverity.DANGER, title, message, numbers, evidence.RETURNED_EARLY))
    return out


def _hours(hours: float) -> str:
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"
