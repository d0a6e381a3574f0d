"""The pre-run check: the rules evaluated as if a planned run happened, and the day's limits (pure).

:func:`check_plan` adds the planned run to the athlete's activities as a hypothetical activity
(:data:`PLANNED_ID`), computes the load, and evaluates every rule on the planned run's day: the
per-run rules on the planned run, the day rules (weekly ramp, ACWR) on the day with it. The day
rules are evaluated without their cooldown (a ramp already alerted two days ago is still a
finding for today's plan); otherwise each finding equals the alert the same run would raise
once imported. Nothing is stored.

The limits for the day: ``max_distance_km`` = 1.10 x the longest run of the previous 30 days
(the top of Frandsen's <=10 % band), ``max_descent_m`` = the largest descent that stays under
the descent-spike threshold, and in a comeback the comeback caps (the longest tolerated run since
the symptom began + 10 %, or the 3 km start; 0 km - rest - while a reading of 5+ has no reading of
2 or less after it; descent under 50 m and 10 m/km). Each limit is None with its reason when it
cannot be known (warming up, no base).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from alerts.alert import Alert
from alerts.checkin import CHECKIN_RULE
from alerts.rules import DAY_RULES, RuleInput, RuleThresholds, evaluate_rules
from alerts.rules.comeback import comeback_base, hills_limit_m, pain_rises, runs_in_order
from alerts.rules.episodes import episode_at, episodes, unanswered_high_reading
from alerts.rules.hilly import symptom_label
from alerts.rules.text import km, metres, weekday_date
from loadmon.domain import Activity, AlertSeverity, Athlete, ElevationSource, Symptom, local_date_of
from loadmon.engine import DESCENT, DISTANCE, ActivityFinding, EngineSettings, LoadResult, compute_load

__all__ = [
    "PLANNED_ID",
    "PlannedRun",
    "Limits",
    "PlanCheck",
    "check_plan",
    "planned_activity",
    "VERDICTS",
    "MORNING_LIMITS_RULE",
    "NOTICE_RULES",
    "limits_alert",
    "limits_key",
]

#: The id of the hypothetical activity (stored ids are positive).
PLANNED_ID = -1
#: ok (nothing found), caution (a warning), danger (a danger finding).
VERDICTS = ("ok", "caution", "danger")
#: The rule name of the morning limits message ([alerts] morning_limits): a notice, not a warning.
MORNING_LIMITS_RULE = "morning_limits"
#: The stored alerts that are notices (messages the runner asked for), not warnings: rule evaluation never
#: withdraws them, and Today's open alerts, the club view and the back-test do not count them.
NOTICE_RULES = frozenset({CHECKIN_RULE, MORNING_LIMITS_RULE})
#: The days before the planned day the engine reports: the day rules read up to 10 weeks back (weekly_ramp
#: after a break of up to 4 weeks compares with the 4 weeks before it), so 90 leaves a margin. The result
#: equals a check on the whole series (tests/alerts/test_plan.py).
REPORT_DAYS = 90
#: After a spike, the next days' limits are "tighter than usual" for this many days (the spike alert's advice:
#: an easy day or rest tomorrow).
SPIKE_RECOVERY_DAYS = 2


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedRun:
    day: date  # the athlete-local day
    start_time: datetime  # timezone-aware
    distance_km: float
    descent_m: float | None = None
    sport: str = "running"
    nominal: bool = False  # a stand-in to read the day's limits (its distance is not the runner's plan)


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    max_distance_km: float | None
    max_distance_reason: str | None  # why it is None, or what set it
    max_descent_m: float | None
    max_descent_reason: str | None
    comeback_max_distance_km: float | None = None  # None: no comeback
    comeback_max_descent_m: float | None = None
    comeback_reason: str | None = None  # the episode, in words (None: no comeback)
    rest: bool = False  # the comeback says rest today
    tighter_because: tuple[str, ...] = ()  # why today's limits are tighter than usual (empty: they are not)

    @property
    def tighter(self) -> bool:
        return bool(self.tighter_because)


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanCheck:
    planned: PlannedRun
    verdict: str
    limits: Limits
    findings: tuple[Alert, ...]


def planned_activity(athlete: Athlete, planned: PlannedRun) -> Activity:
    """The planned run as a (never stored) activity."""
    return Activity(
        id=PLANNED_ID,
        athlete_id=athlete.id,
        source="plan",
        source_id=0,
        sport=planned.sport,
        sub_sport=None,
        start_time=planned.start_time,
        local_date=planned.day,
        distance_m=planned.distance_km * 1000.0,
        moving_time_s=None,
        elapsed_time_s=None,
        elevation_gain_m=planned.descent_m,
        elevation_loss_m=planned.descent_m,
        elevation_source=ElevationSource.COMPUTED if planned.descent_m is not None else ElevationSource.NONE,
        avg_hr=None,
        max_hr=None,
        perceived_exertion=None,
        device=None,
        name="planned run",
    )


def _verdict(findings: Sequence[Alert]) -> str:
    severities = {AlertSeverity(a.severity) for a in findings}
    if AlertSeverity.DANGER in severities:
        return "danger"
    return "caution" if severities & {AlertSeverity.WARNING} else "ok"


def check_plan(
    *,
    athlete: Athlete,
    activities: Sequence[Activity],
    symptoms: Sequence[Symptom],
    planned: PlannedRun,
    settings: EngineSettings,
    thresholds: RuleThresholds,
) -> PlanCheck:
    """Evaluate the rules as if ``planned`` happened (see the module doc); ``activities``: the stored ones."""
    if planned.start_time.tzinfo is None:
        raise ValueError("planned.start_time must be timezone-aware")
    before = [a for a in activities if a.local_date <= planned.day and a.id != PLANNED_ID]
    plan = planned_activity(athlete, planned)
    # the engine runs every window over the whole history; it reports only the days the rules look at: the
    # last REPORT_DAYS (the day rules' look-back) and every day since the watched episodes began (the comeback
    # base), and only the channels the rules read
    since = planned.day - timedelta(days=REPORT_DAYS)
    for ep in episodes(symptoms, thresholds):
        if ep.watched_at(planned.start_time, thresholds.comeback_days_after):
            since = min(since, local_date_of(ep.began_at, athlete.timezone) - timedelta(days=1))
    channels = {DISTANCE, DESCENT, thresholds.acwr_channel}
    load = compute_load([*before, plan], athlete, settings, until=planned.day, since=since, channels=channels)
    no_cooldown = dataclasses.replace(thresholds, cooldown_hours=0.0)
    alerts = evaluate_rules(
        athlete=athlete,
        load=load,
        activities=[*before, plan],
        symptoms=symptoms,
        thresholds=no_cooldown,
        first_day=planned.day,
        last_day=planned.day,
    )
    findings = tuple(a for a in alerts if a.activity_id == PLANNED_ID or (a.activity_id is None and a.rule in DAY_RULES))
    inp = RuleInput(
        athlete=athlete,
        load=load,
        activities=[*before, plan],
        symptoms=symptoms,
        thresholds=thresholds,
        first_day=planned.day,
        last_day=planned.day,
    )
    limits = _limits(inp, load, planned)
    return PlanCheck(planned=planned, verdict=_verdict(findings), limits=limits, findings=findings)


def _planned_finding(load: LoadResult) -> ActivityFinding | None:
    return next((f for f in load.findings if f.activity_id == PLANNED_ID), None)


def _limits(inp: RuleInput, load: LoadResult, planned: PlannedRun) -> Limits:
    t = inp.thresholds
    f = _planned_finding(load)
    max_km: float | None = None
    km_reason: str | None
    if f is None:
        km_reason = f"not a running sport ({planned.sport})"
    elif f.spike_reason is not None or f.longest_prev_30d_km is None:
        km_reason = f.spike_reason or "no base"
    else:
        max_km = f.longest_prev_30d_km * (1.0 + t.run_spike_pct / 100.0)
        km_reason = f"{t.run_spike_pct:g}% over your longest run of the previous 30 days ({km(f.longest_prev_30d_km)})"
    max_descent: float | None = None
    descent_reason: str | None
    if f is None:
        descent_reason = f"not a running sport ({planned.sport})"
    elif f.largest_descent_prev_30d_m is None or f.spike_reason == "warming up":
        descent_reason = f.descent_ratio_reason or ("warming up" if f.spike_reason == "warming up" else "no base")
    else:
        max_descent = max(f.largest_descent_prev_30d_m * (1.0 + t.descent_spike_pct / 100.0), t.descent_spike_floor_m)
        descent_reason = (
            f"{t.descent_spike_pct:g}% over the largest descent of the previous 30 days "
            f"({metres(f.largest_descent_prev_30d_m)}), and at least the {metres(t.descent_spike_floor_m)} "
            "floor of the descent-spike rule"
        )
    tighter: list[str] = []
    recent = [
        g
        for g in load.findings
        if g.activity_id != PLANNED_ID
        and g.start_time < planned.start_time
        and planned.day - g.local_date <= timedelta(days=SPIKE_RECOVERY_DAYS)
        and g.distance_increase_pct is not None
        and g.distance_increase_pct > t.run_spike_pct
        and g.distance_km is not None
        and g.distance_km >= t.run_spike_min_km
    ]
    if recent:
        last = recent[-1]
        tighter.append(f"a run spike on {weekday_date(last.local_date)}: an easy day or rest first")
    comeback = _comeback(inp, planned)
    if comeback is None:
        return Limits(
            max_distance_km=max_km,
            max_distance_reason=km_reason,
            max_descent_m=max_descent,
            max_descent_reason=descent_reason,
            tighter_because=tuple(tighter),
        )
    cb_km, cb_descent, cb_reason, rest = comeback
    tighter.append(cb_reason)
    if max_km is None or cb_km < max_km:
        max_km, km_reason = cb_km, ("rest today: " if rest else "comeback: ") + cb_reason
    if max_descent is None or cb_descent < max_descent:
        max_descent, descent_reason = cb_descent, "comeback: " + cb_reason
    return Limits(
        max_distance_km=max_km,
        max_distance_reason=km_reason,
        max_descent_m=max_descent,
        max_descent_reason=descent_reason,
        comeback_max_distance_km=cb_km,
        comeback_max_descent_m=cb_descent,
        comeback_reason=cb_reason,
        rest=rest,
        tighter_because=tuple(tighter),
    )


def _comeback(inp: RuleInput, planned: PlannedRun) -> tuple[float, float, str, bool] | None:
    """(distance cap km, descent cap m, the episode in words, rest) in a comeback; None outside one."""
    t = inp.thresholds
    eps = episodes(inp.symptoms, t)
    ep = episode_at(eps, planned.start_time, t)
    if ep is None:
        return None
    runs = [g for g in runs_in_order(inp) if g.activity_id != PLANNED_ID]
    base = comeback_base(inp, runs, pain_rises(inp, runs), planned.start_time, before_id=PLANNED_ID, all_episodes=eps)
    assert base is not None  # the same episode test as above
    tz = inp.athlete.timezone
    state = "open" if ep.ended_at is None else f"resolved {weekday_date(local_date_of(ep.ended_at, tz))}"
    words = f"{symptom_label(ep.symptom)} pain since {weekday_date(local_date_of(ep.began_at, tz))} ({state}); " + (
        f"longest tolerated run since then {km(base.base_km)}"
        if base.base_run is not None
        else f"first runs up to {km(t.comeback_start_km)}"
    )
    highs = [h for s in inp.symptoms if (h := unanswered_high_reading(s, planned.start_time, t)) is not None]
    if highs:
        h = max(highs, key=lambda x: (x.severity, x.at))
        words = (
            f"{symptom_label(h.symptom)} pain read {h.severity}/10 on "
            f"{weekday_date(local_date_of(h.at, tz))} with no reading of {t.returned_early_clear_severity}/10 or "
            f"less since"
        )
        return 0.0, 0.0, words, True
    return base.limit_km, hills_limit_m(None if planned.nominal else planned.distance_km, t), words, False


def limits_key(athlete_id: int, day: date) -> str:
    """The dedupe key of the morning limits message: one per athlete and local day."""
    return f"{MORNING_LIMITS_RULE}:{athlete_id}:{day.isoformat()}"


def limits_alert(*, athlete: Athlete, day: date, limits: Limits) -> Alert:
    """The morning message with the day's limits (sent only when they are tighter than usual)."""
    if not limits.tighter:
        raise ValueError("limits: the morning message is for limits tighter than usual")
    if limits.rest:
        title = f"Rest today, {weekday_date(day)}"
        head = f"Today's advice is rest: {limits.comeback_reason}."
    else:
        dist = f"up to {km(limits.max_distance_km)}" if limits.max_distance_km is not None else "no distance limit known"
        title = f"Today's limits: {dist}" + (f", descent up to {metres(limits.max_descent_m)}" if limits.max_descent_m is not None else "")
        head = f"Today's limits ({weekday_date(day)}): distance {dist} ({limits.max_distance_reason})" + (
            f"; descent up to {metres(limits.max_descent_m)} ({limits.max_descent_reason})." if limits.max_descent_m is not None else "."
        )
    why = "Tighter than usual because of " + "; ".join(limits.tighter_because) + "."
    message = f"{head} {why} Check a planned run before you go on the Plan a run page (or `loadmon plan check --distance-km N`)."
    numbers: dict[str, float | int | str | None] = {
        "max_distance_km": None if limits.max_distance_km is None else round(limits.max_distance_km, 1),
        "max_descent_m": None if limits.max_descent_m is None else float(round(limits.max_descent_m)),
        "comeback_max_distance_km": (None if limits.comeback_max_distance_km is None else round(limits.comeback_max_distance_km, 1)),
        "rest": "yes" if limits.rest else "no",
    }
    return Alert(
        rule=MORNING_LIMITS_RULE,
        severity=AlertSeverity.INFO,
        athlete_id=athlete.id,
        athlete_name=athlete.name,
        local_date=day,
        activity_id=None,
        title=title,
        message=message,
        numbers=numbers,
        rule_text=(
            "Sent on mornings when the day's limits are tighter than usual (in a comeback, after a run spike); "
            'turn it off with [alerts] morning_limits = ""'
        ),
        evidence=(
            "The limits are those of the rules: Frandsen et al. 2025 for the distance (<=10 % over the longest "
            "run of 30 days), the descent-spike rule, and the comeback caps (see each rule's evidence)."
        ),
        dedupe_key=limits_key(athlete.id, day),
    )
