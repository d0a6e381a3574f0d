"""``descent_spike``: a run descending much more than any run of the previous 30 days.

By analogy with the distance spike (Frandsen 2025), with the engine's finding per run: alert
when the run's descent is at least ``descent_spike_floor_m`` (150 m) and more than
``descent_spike_pct`` (25%) above the largest single-run descent of the previous 30 days.
Severity: warning; danger when more than double (above +100%, by analogy with Frandsen's top
band). When every run of the window had elevation data and descended 0 m (flat or treadmill),
any run reaching the floor is a spike (danger: there is no descent to compare with). No alert
while warming up (fewer than 30 days of run history) or without earlier runs with elevation
data in the window. One alert per run.
"""

from __future__ import annotations

from alerts.alert import Alert
from alerts.rules import evidence
from alerts.rules.base import RuleInput, activity_key
from alerts.rules.run_spike import run_label
from alerts.rules.text import exceeds, km, metres, pct, pct0, r0, r1, reaches, steep_part
from loadmon.domain import AlertSeverity
from loadmon.engine import NO_BASE, ActivityFinding

__all__ = ["RULE", "SHOWN", "descent_spike"]

RULE = "descent_spike"
DANGER_PCT = 100.0
#: The numbers a message shows (key, label, unit); every number stays in the alert's JSON.
SHOWN: tuple[tuple[str, str, str], ...] = (
    ("descent_m", "Descent of this run", "m"),
    ("largest_prev_30d_m", "Largest descent of the previous 30 days", "m"),
    ("steep_descent_m", "Of it at -8 % or steeper", "m"),
    ("distance_km", "Distance", "km"),
    ("next_runs_descent_m", "Next runs' descent: about", "m"),
)


def descent_spike(inp: RuleInput) -> list[Alert]:
    t = inp.thresholds
    out: list[Alert] = []
    for f in inp.load.findings:
        if not inp.in_range(f.local_date) or f.descent_m is None:
            continue
        if not reaches(f.descent_m, t.descent_spike_floor_m):
            continue
        if f.descent_ratio is not None:
            increase = (f.descent_ratio - 1.0) * 100.0
            if not exceeds(increase, t.descent_spike_pct):
                continue
            severity = AlertSeverity.DANGER if exceeds(increase, DANGER_PCT) else AlertSeverity.WARNING
        elif f.descent_ratio_reason == NO_BASE and f.largest_descent_prev_30d_m == 0:
            increase = None  # every earlier run of the window descended 0 m
            severity = AlertSeverity.DANGER
        else:
            continue
        out.append(_alert(inp, f, severity, increase))
    return out


def _alert(inp: RuleInput, f: ActivityFinding, severity: AlertSeverity, increase: float | None) -> Alert:
    t = inp.thresholds
    assert f.descent_m is not None  # descent_spike() passes only runs with a descent
    per_km = (f" ({f.descent_per_km:.0f} m/km over {km(f.distance_km)})"
              if f.descent_per_km is not None and f.distance_km is not None else "")
    largest = f.largest_descent_prev_30d_m
    sore = "What to do: 2-3 easy, flat days (sore thighs peak 24-48 h after a big descent); "
    if largest is not None and not reaches(largest, t.descent_spike_floor_m):
        # the floor speaks first: "233 m after at most 3 m" is a first hilly run, not a "+7666%" spike
        compare = (
            f"your first hilly run in 30 days: none of your runs in the previous 30 days descended "
            f"{metres(t.descent_spike_floor_m)} or more (the most was {metres(largest)})"
        )
        title = f"First hilly run in 30 days: {metres(f.descent_m)} of descent (the most before: {metres(largest)})"
        target = f.descent_m
        next_step = (f"{sore}the next hilly run costs your legs less (the repeated-bout effect), but keep it no "
                     f"bigger than this one ({metres(f.descent_m)} of descent) for the next 2 weeks.")
    else:
        assert largest is not None and increase is not None  # a ratio: a largest descent to compare with
        compare = (
            f"{pct(increase)} more than the largest descent of your runs in the previous 30 days "
            f"({metres(largest)})"
        )
        title = f"Your run descended {metres(f.descent_m)}, {pct0(increase)} more than any run in 30 days ({metres(largest)})"
        target = largest * (1.0 + t.descent_spike_pct / 100.0)
        next_step = (f"{sore}then keep each run's descent near {metres(target)} ({pct(t.descent_spike_pct)} over "
                     f"your previous largest) while your legs get used to it.")
    message = (
        f"Your run on {run_label(f)}: {metres(f.descent_m)} of descent{per_km}{steep_part(f.steep_descent_m)}, "
        f"{compare}. Downhill running "
        f"loads the thigh muscles eccentrically and causes muscle damage, most in runners not used to it; "
        f"that descent spikes cause injuries is plausible, not proven. {next_step}"
    )
    rule_text = (
        f"Descent spike: alert when a run descends at least {metres(t.descent_spike_floor_m)} and more than "
        f"{pct(t.descent_spike_pct)} more than the largest descent of the previous 30 days' runs; danger above "
        f"+{pct(DANGER_PCT)} or after 30 days without any descent."
    )
    numbers = {
        "descent_m": r0(f.descent_m),
        "largest_prev_30d_m": r0(f.largest_descent_prev_30d_m),
        "increase_pct": r1(increase),
        "descent_per_km": r1(f.descent_per_km),
        "steep_descent_m": r0(f.steep_descent_m),
        "distance_km": r1(f.distance_km),
        "next_runs_descent_m": r0(target),
        "threshold_pct": t.descent_spike_pct,
        "floor_m": t.descent_spike_floor_m,
        "danger_pct": DANGER_PCT,
    }
    return Alert(
        rule=RULE, severity=severity, athlete_id=inp.athlete.id, athlete_name=inp.athlete.name,
        local_date=f.local_date, activity_id=f.activity_id, title=title, message=message, numbers=numbers,
        rule_text=rule_text, evidence=evidence.DESCENT_SPIKE,
        dedupe_key=activity_key(RULE, inp.athlete.id, f.activity_id),
    )
