"""``run_spike``: a run much longer than the longest run of the previous 30 days (Frandsen 2025).

Uses the engine's finding per run (reference window: the runs of the 30 local days before the
run's day plus earlier runs that day). Alert when the run is at least ``run_spike_min_km`` and
more than ``run_spike_pct`` (10%) longer than the longest of the window. The Frandsen band
gives the hazard rate ratio shown in the message: >10-30% HRR 1.64, >30-100% 1.52 (both
warning), >100% 2.28 (danger). No alert while the engine reports no ratio (warming up: fewer
than 30 days of run history; no base: no earlier run in the window). One alert per run.
"""

from __future__ import annotations

from alerts.alert import Alert
from alerts.rules import evidence
from alerts.rules.base import RuleInput, activity_key
from alerts.rules.text import exceeds, km, km_short, pct, pct0, r1, reaches, weekday_date
from loadmon.domain import AlertSeverity
from loadmon.engine import SPIKE_BANDS, ActivityFinding

__all__ = ["RULE", "SHOWN", "run_spike", "run_label"]

RULE = "run_spike"
TOP_BAND = SPIKE_BANDS[-1].label
#: The numbers a message shows (key, label, unit); every number stays in the alert's JSON.
SHOWN: tuple[tuple[str, str, str], ...] = (
    ("distance_km", "This run", "km"),
    ("longest_prev_30d_km", "Longest run of the previous 30 days", "km"),
    ("increase_pct", "Longer by", "%"),
    ("hazard_rate_ratio", "Injury rate in this band (Frandsen 2025)", "x"),
    ("next_long_run_km", "Next long runs: about", "km"),
)


def run_label(f: ActivityFinding) -> str:
    """``Sun 2026-11-22 ("Long run")``."""
    return weekday_date(f.local_date) + (f' ("{f.name}")' if f.name else "")


def run_spike(inp: RuleInput) -> list[Alert]:
    t = inp.thresholds
    out: list[Alert] = []
    for f in inp.load.findings:
        if not inp.in_range(f.local_date) or f.spike_reason is not None:
            continue
        if f.distance_km is None or f.distance_increase_pct is None or f.longest_prev_30d_km is None:
            continue
        if not reaches(f.distance_km, t.run_spike_min_km) or not exceeds(f.distance_increase_pct, t.run_spike_pct):
            continue
        severity = AlertSeverity.DANGER if f.spike_band == TOP_BAND else AlertSeverity.WARNING
        out.append(_alert(inp, f, severity))
    return out


def _alert(inp: RuleInput, f: ActivityFinding, severity: AlertSeverity) -> Alert:
    t = inp.thresholds
    # run_spike() passes only the findings that have these
    assert f.distance_km is not None and f.distance_increase_pct is not None and f.longest_prev_30d_km is not None
    ref = inp.activities_by_id.get(f.longest_prev_30d_activity_id) if f.longest_prev_30d_activity_id else None
    ref_when = f" on {weekday_date(ref.local_date)}" if ref is not None else ""
    ci = f.spike_hrr_ci
    if f.spike_hrr is not None and ci is not None:
        band_text = (
            f" In Frandsen et al. 2025 (5,205 runners), runs {f.spike_band} longer than the longest of the previous "
            f"30 days came with {f.spike_hrr:.2f} times the injury rate of runs within 10% "
            f"(95% CI {ci[0]:.2f}-{ci[1]:.2f})."
        )
    else:
        band_text = ""
    target = f.longest_prev_30d_km * (1.0 + t.run_spike_pct / 100.0)
    message = (
        f"Your run on {run_label(f)}: {km(f.distance_km)}, {pct(f.distance_increase_pct)} longer than your longest "
        f"run of the previous 30 days ({km(f.longest_prev_30d_km)}{ref_when}).{band_text} What to do: an easy day "
        f"or rest tomorrow, and keep your next long runs near {km_short(target)} ({pct(t.run_spike_pct)} over your "
        f"previous longest) until this distance feels routine."
    )
    title = (f"Your run of {km_short(f.distance_km)} was {pct0(f.distance_increase_pct)} longer than your longest in "
             f"30 days ({km_short(f.longest_prev_30d_km)})")
    rule_text = (
        f"Run spike: alert when a run of at least {km(t.run_spike_min_km)} is more than {pct(t.run_spike_pct)} longer "
        f"than the longest run of the previous 30 days; warning for >10-100%, danger above 100% (Frandsen 2025 bands)."
    )
    numbers = {
        "distance_km": r1(f.distance_km),
        "longest_prev_30d_km": r1(f.longest_prev_30d_km),
        "longest_prev_30d_date": ref.local_date.isoformat() if ref is not None else None,
        "increase_pct": r1(f.distance_increase_pct),
        "next_long_run_km": r1(target),
        "band": f.spike_band,
        "hazard_rate_ratio": f.spike_hrr,
        "hrr_ci_low": ci[0] if ci else None,
        "hrr_ci_high": ci[1] if ci else None,
        "prev_runs_30d": f.prev_runs_30d,
        "threshold_pct": t.run_spike_pct,
        "min_km": t.run_spike_min_km,
    }
    return Alert(
        rule=RULE, severity=severity, athlete_id=inp.athlete.id, athlete_name=inp.athlete.name,
        local_date=f.local_date, activity_id=f.activity_id, title=title, message=message, numbers=numbers,
        rule_text=rule_text, evidence=evidence.RUN_SPIKE, dedupe_key=activity_key(RULE, inp.athlete.id, f.activity_id),
    )
