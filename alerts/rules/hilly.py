"""``hilly_after_symptoms``: a hilly run while a lower-limb symptom is active.

A run counts when it started within ``symptom_window_days`` (14) after the start of a symptom
that is

* at a lower-limb site (:data:`loadmon.domain.LOWER_LIMB_SITES`: knee, IT band, hip, ...),
* of severity >= ``symptom_min_severity`` (3 of 10) when the run started (its latest reading
  then: the first entry or a later ``loadmon symptom update``), and
* not resolved when the run started,

and the run is hilly: its descent reaches ``hilly_descent_floor_m`` (200 m) AND
``hilly_descent_floor_m_per_km`` (15 m/km), OR it is above the 75th percentile of the
athlete's own run descents of the previous 30 days (the engine's ``descent_p75_prev_30d_m``,
reported after 30 days of run history) while reaching ``hilly_descent_min_m`` (50 m, so a
flat runner's 12 m is not "hilly"). Severity follows the worst such symptom: warning, danger
from ``symptom_danger_severity`` (5). One alert per run.
"""

from __future__ import annotations

from datetime import timedelta

from alerts.alert import Alert
from alerts.rules import evidence
from alerts.rules.base import RuleInput, activity_key
from alerts.rules.run_spike import run_label
from alerts.rules.text import exceeds, km, metres, r0, r1, reaches, steep_part, weekday_date
from loadmon.domain import LOWER_LIMB_SITES, AlertSeverity, Symptom
from loadmon.engine import ActivityFinding, local_date_of

__all__ = ["RULE", "SHOWN", "hilly_after_symptoms", "symptom_label", "raises_hilly_after_symptoms"]

RULE = "hilly_after_symptoms"
#: The numbers a message shows (key, label, unit); every number stays in the alert's JSON.
SHOWN: tuple[tuple[str, str, str], ...] = (
    ("descent_m", "Descent of this run", "m"),
    ("descent_per_km", "Descent per km", "m/km"),
    ("symptom_severity", "Symptom severity (0-10)", ""),
    ("days_after_symptom", "Days after the symptom began", "days"),
)

_SITE_WORDS = {"it_band": "IT band", "achilles": "Achilles", "lower_back": "lower back"}


def symptom_label(s: Symptom) -> str:
    """``right knee``, ``IT band (both sides)``, ``shin``."""
    site = _SITE_WORDS.get(s.site, s.site.replace("_", " "))
    if s.side in ("left", "right"):
        return f"{s.side} {site}"
    if s.side == "both":
        return f"{site} (both sides)"
    return site


def active_symptoms(inp: RuleInput, f: ActivityFinding) -> list[Symptom]:
    """The symptoms that make run ``f`` count (see the module doc)."""
    t = inp.thresholds
    window = timedelta(days=t.symptom_window_days)
    start = f.start_time
    return [
        s for s in inp.symptoms
        if s.athlete_id == inp.athlete.id and s.site in LOWER_LIMB_SITES
        and (s.severity_at(start) or 0) >= t.symptom_min_severity
        and s.started_at <= start and start - s.started_at <= window
        and (s.resolved_at is None or s.resolved_at > start)
    ]


def _hilly_by(inp: RuleInput, f: ActivityFinding) -> tuple[bool, bool]:
    """(by the floor, by the 30-day 75th percentile): why run ``f`` counts as hilly."""
    t = inp.thresholds
    if f.descent_m is None:
        return False, False
    by_floor = (reaches(f.descent_m, t.hilly_descent_floor_m) and f.descent_per_km is not None
                and reaches(f.descent_per_km, t.hilly_descent_floor_m_per_km))
    p75 = f.descent_p75_prev_30d_m
    by_p75 = p75 is not None and exceeds(f.descent_m, p75) and reaches(f.descent_m, t.hilly_descent_min_m)
    return by_floor, by_p75


def raises_hilly_after_symptoms(inp: RuleInput, f: ActivityFinding) -> bool:
    """True when this rule alerts on run ``f`` (``comeback_hills`` leaves such runs to it)."""
    return f.descent_m is not None and any(_hilly_by(inp, f)) and bool(active_symptoms(inp, f))


def hilly_after_symptoms(inp: RuleInput) -> list[Alert]:
    t = inp.thresholds
    out: list[Alert] = []
    if not inp.symptoms:
        return out
    for f in inp.load.findings:
        if not inp.in_range(f.local_date) or f.descent_m is None:
            continue
        active = active_symptoms(inp, f)
        if not active:
            continue
        by_floor, by_p75 = _hilly_by(inp, f)
        if not (by_floor or by_p75):
            continue
        worst = max(active, key=lambda s: (s.severity_at(f.start_time) or 0, s.started_at, s.id))
        severity = (AlertSeverity.DANGER if (worst.severity_at(f.start_time) or 0) >= t.symptom_danger_severity
                    else AlertSeverity.WARNING)
        out.append(_alert(inp, f, worst, severity, by_floor, by_p75, len(active)))
    return out


def _alert(inp: RuleInput, f: ActivityFinding, s: Symptom, severity: AlertSeverity, by_floor: bool, by_p75: bool,
           n_active: int) -> Alert:
    t = inp.thresholds
    assert f.descent_m is not None  # hilly_after_symptoms() passes only runs with a descent
    tz = inp.athlete.timezone
    symptom_day = local_date_of(s.started_at, tz)
    days = (f.local_date - symptom_day).days
    when = "on the day" if days == 0 else f"{days} day{'s' if days != 1 else ''} after"
    where = symptom_label(s)
    pain = s.severity_at(f.start_time) or s.severity
    location = f"{s.location}, " if s.location else ""
    per_km = f", {f.descent_per_km:.0f} m/km" if f.descent_per_km is not None else ""
    reasons = []
    if by_floor:
        reasons.append(f"at least {metres(t.hilly_descent_floor_m)} and {t.hilly_descent_floor_m_per_km:g} m/km")
    if by_p75:
        assert f.descent_p75_prev_30d_m is not None
        reasons.append(f"above the 75th percentile of your runs' descent in the previous 30 days "
                       f"({metres(f.descent_p75_prev_30d_m)})")
    dist = f"{km(f.distance_km)} with " if f.distance_km is not None else ""
    message = (
        f"Hilly run on {run_label(f)}, {when} you logged {where} pain ({location}severity {pain}/10, "
        f"logged {weekday_date(symptom_day)}, not resolved): {dist}{metres(f.descent_m)} of descent{per_km}"
        f"{steep_part(f.steep_descent_m)} - "
        f"{' and '.join(reasons)}. Downhill running loads the knee and thigh eccentrically. What to do: keep your "
        f"runs flat (under {metres(t.hilly_descent_min_m)} of descent) until the {where} pain has settled, and if it "
        f"persists or gets worse, have it checked."
    )
    title = f"Hilly run {'on the day of' if days == 0 else when} {where} pain: {metres(f.descent_m)} of descent"
    rule_text = (
        f"Hilly after symptoms: alert when a run within {t.symptom_window_days} days after an unresolved lower-limb "
        f"symptom of severity {t.symptom_min_severity}+ descends at least {metres(t.hilly_descent_floor_m)} and "
        f"{t.hilly_descent_floor_m_per_km:g} m/km, or more than the 75th percentile of the previous 30 days' runs "
        f"(and at least {metres(t.hilly_descent_min_m)}); danger from symptom severity {t.symptom_danger_severity}."
    )
    numbers = {
        "descent_m": r0(f.descent_m),
        "descent_per_km": r1(f.descent_per_km),
        "steep_descent_m": r0(f.steep_descent_m),
        "distance_km": r1(f.distance_km),
        "p75_prev_30d_m": r0(f.descent_p75_prev_30d_m),
        "hilly_by": "+".join(name for name, hit in (("floor", by_floor), ("p75", by_p75)) if hit),
        "floor_m": t.hilly_descent_floor_m,
        "floor_m_per_km": t.hilly_descent_floor_m_per_km,
        "symptom_id": s.id,
        "symptom_site": s.site,
        "symptom_side": s.side,
        "symptom_location": s.location,
        "symptom_severity": pain,
        "symptom_date": symptom_day.isoformat(),
        "days_after_symptom": days,
        "active_symptoms": n_active,
        "window_days": t.symptom_window_days,
        "min_severity": t.symptom_min_severity,
    }
    return Alert(
        rule=RULE, severity=severity, athlete_id=inp.athlete.id, athlete_name=inp.athlete.name,
        local_date=f.local_date, activity_id=f.activity_id, title=title, message=message, numbers=numbers,
        rule_text=rule_text, evidence=evidence.HILLY_AFTER_SYMPTOMS,
        dedupe_key=activity_key(RULE, inp.athlete.id, f.activity_id),
    )
