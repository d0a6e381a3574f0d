"""``weekly_ramp``: the last 7 days' running distance against the 7 days before (the "10% rule").

For each athlete-local day t (rolling weeks: "last 7 days" = t-6..t, "the 7 days before" =
t-13..t-7; the engine's ``distance_km`` channel):

* No alert while the ramp is warming up (the engine's ``ramp_warmup_days``, 28 days of history)
  or when the last 7 days are below ``weekly_ramp_min_km`` (a guard: 5 km -> 6 km is +20%).
* **Week to week** (the 7 days before reached ``weekly_ramp_break_km``): alert when the ramp is
  more than ``weekly_ramp_pct`` (10%) and the increase is at least
  ``weekly_ramp_min_increase_km``. Severity: warning; danger above ``weekly_ramp_danger_pct``
  (30%, Nielsen 2014's top band).
* **After a break** (the 7 days before were below ``weekly_ramp_break_km``, e.g. zero): a
  week-to-week ratio means nothing ("no base"). The last 7 days are compared instead with the
  athlete's usual week before the break: the weekly average of the 28 days before the break
  (the break = the run of consecutive low 7-day blocks going back from t-7, at most 4 of them).
  Same thresholds and severities as week to week. When that base is unknown (a break longer
  than 4 weeks, not enough history before it, or the weeks before it were low too), alert
  (warning) only when the last 7 days exceed ``weekly_ramp_after_break_km``.
* Cooldown: at most one alert per ``cooldown_hours`` (168 h = 7 local days) unless the
  severity rises (one big week keeps the rolling ramp high for up to 7 days).
"""

from __future__ import annotations

import math
from datetime import date
from functools import partial

from alerts.alert import Alert
from alerts.rules import evidence
from alerts.rules.base import DayCandidate, RuleInput, day_key, raise_with_cooldown
from alerts.rules.text import exceeds, km, km_short, pct, pct0, r1, reaches, weekday_date
from loadmon.domain import AlertSeverity
from loadmon.engine import DISTANCE, WARMING_UP
from loadmon.load_channels import channel_label

__all__ = ["RULE", "MAX_BREAK_WEEKS", "SHOWN", "weekly_ramp"]

RULE = "weekly_ramp"
#: A break longer than this many weeks resets the base (fitness from before it is not assumed).
MAX_BREAK_WEEKS = 4
#: Weeks averaged for the base before a break.
BASE_WEEKS = 4

#: The numbers a message shows (key, label, unit); every number stays in the alert's JSON.
SHOWN: tuple[tuple[str, str, str], ...] = (
    ("last_7d_km", "Last 7 days", "km"),
    ("previous_7d_km", "The 7 days before", "km"),
    ("ramp_pct", "Change", "%"),
    ("base_weekly_km", "Usual week before the break", "km"),
    ("usual_weekly_km", "Usual week (4 weeks before)", "km"),
    ("next_7d_target_km", "Next 7 days: aim for about", "km"),
)

MODE_WEEK = "week_to_week"
MODE_BASE = "after_break_vs_base"
MODE_NO_BASE = "after_break_no_base"


def _pre_break_base(load: tuple[float, ...], i: int, lo: int, break_km: float) -> tuple[float | None, int]:
    """(weekly average of the 28 days before the break, break length in weeks) for day index ``i``.

    Block k (k >= 1) = days i-7k-6 .. i-7k; block 1 (the 7 days before) is low by definition.
    ``lo``: first index with known history. ``None`` when the base is unknown.
    """
    weeks = 1
    for k in range(2, MAX_BREAK_WEEKS + 2):
        start, end = i - 7 * k - 6, i - 7 * k
        if start < lo:
            return None, weeks
        if reaches(math.fsum(load[start:end + 1]), break_km):
            break
        weeks = k
    if weeks > MAX_BREAK_WEEKS:
        return None, weeks
    start, end = i - 7 * weeks - 7 * BASE_WEEKS - 6, i - 7 * weeks - 7
    if start < lo:
        return None, weeks
    return math.fsum(load[start:end + 1]) / BASE_WEEKS, weeks


def weekly_ramp(inp: RuleInput) -> list[Alert]:
    series = inp.load.channels.get(DISTANCE)
    if series is None or not series.available or series.first_day is None:
        return []
    t = inp.thresholds
    acute = series.column("acute_7d")
    previous = series.column("previous_7d")
    ramp = series.column("ramp_pct")
    reason = series.column("ramp_reason")
    load = series.column("load")
    first = series.first_day
    lo = max(0, (series.history_start - first).days) if series.history_start else 0
    last_i = min(len(load) - 1, (inp.last_day - first).days)
    candidates: list[DayCandidate] = []
    for i in range(lo, last_i + 1):
        if reason[i] == WARMING_UP:
            continue
        a, p = acute[i], previous[i]
        if not reaches(a, t.weekly_ramp_min_km):
            continue
        day = first.fromordinal(first.toordinal() + i)
        after_break = ramp[i] is None or not reaches(p, t.weekly_ramp_break_km)
        base, weeks = (None, 0)
        usual, usual_words = None, ""
        if not after_break:
            mode, ref, change = MODE_WEEK, p, ramp[i]
            usual, usual_words = _usual_week(load, i, lo, p)
        else:
            base, weeks = _pre_break_base(load, i, lo, t.weekly_ramp_break_km)
            if base is not None and reaches(base, t.weekly_ramp_break_km):
                mode, ref, change = MODE_BASE, base, (a / base - 1.0) * 100.0
            else:
                mode, ref, change = MODE_NO_BASE, None, None
        if mode == MODE_NO_BASE:
            if not exceeds(a, t.weekly_ramp_after_break_km):
                continue
            severity = AlertSeverity.WARNING
        else:
            if not exceeds(change, t.weekly_ramp_pct) or not reaches(a - ref, t.weekly_ramp_min_increase_km):
                continue
            severity = AlertSeverity.DANGER if exceeds(change, t.weekly_ramp_danger_pct) else AlertSeverity.WARNING
        candidates.append(DayCandidate(
            day=day, severity=severity,
            build=partial(_alert, inp, day, severity, a, p, mode, ref, change, base, weeks, usual, usual_words),
        ))
    return raise_with_cooldown(RULE, t, candidates, inp.first_day, inp.last_day, inp.live_from)


def _usual_week(load: tuple[float, ...], i: int, lo: int, previous: float) -> tuple[float, str]:
    """The athlete's usual week before the last 7 days: the weekly average of the 4 weeks before
    them (days i-34..i-7) when known, else the 7 days before; with the words that say which."""
    start = i - 7 - 7 * BASE_WEEKS + 1
    if start >= lo:
        return math.fsum(load[start:i - 6]) / BASE_WEEKS, "the weekly average of the 4 weeks before the last 7 days"
    return previous, "the 7 days before"


def _next_step(mode: str, a: float, ref: float | None, usual: float | None, usual_words: str, pct_limit: float,
               after_break_km: float) -> tuple[float, str]:
    """(target for the next 7 days in km, the sentence that says what to do)."""
    build = f"then add at most {pct(pct_limit)} a week"
    if mode == MODE_WEEK:
        assert usual is not None
        target = usual * (1.0 + pct_limit / 100.0)
        if target >= a:
            return a, (f"What to do: keep the next 7 days no higher than this week's {km_short(a)}: that is already "
                       f"back at your usual week ({km_short(usual)}, {usual_words}); {build}.")
        return target, (f"What to do: keep the next 7 days near {km_short(target)}. Your usual week before this jump "
                        f"was {km_short(usual)} ({usual_words}), and {pct(pct_limit)} more than that is the classic "
                        f"limit; {build}.")
    if mode == MODE_BASE:
        assert ref is not None
        return ref, (f"What to do: keep the next 7 days near {km_short(ref)}, your usual week before the break; "
                     f"{build}.")
    return after_break_km, (f"What to do: keep the next 7 days near {km_short(after_break_km)} (no usual week from "
                            f"before the break is known to build on); {build}.")


def _alert(inp: RuleInput, day: date, severity: AlertSeverity, a: float, p: float, mode: str, ref: float | None,
           change: float | None, base: float | None, weeks: int, usual: float | None, usual_words: str) -> Alert:
    t = inp.thresholds
    target, next_step = _next_step(mode, a, ref, usual, usual_words, t.weekly_ramp_pct, t.weekly_ramp_after_break_km)
    if mode == MODE_WEEK:
        assert change is not None
        title = f"Your week jumped {pct0(change)}: {km_short(a)} after {km_short(p)}"
        message = (
            f"Your last 7 days (to {weekday_date(day)}): {km(a)}, {pct(change)} more than the 7 days before "
            f"({km(p)}), an increase of {km(a - p)}. A weekly increase above {pct(t.weekly_ramp_pct)} is "
            f"the classic warning threshold"
            + (f"; above {pct(t.weekly_ramp_danger_pct)} is the range where Nielsen 2014 saw the most injuries"
               if severity == AlertSeverity.DANGER else "")
            + f". Its evidence is weak: a warning sign, not a verdict. {next_step}"
        )
    elif mode == MODE_BASE:
        assert change is not None and ref is not None
        title = f"Back above your usual week: {km_short(a)}, {pct0(change)} over your usual {km_short(ref)}"
        message = (
            f"Your last 7 days (to {weekday_date(day)}): {km(a)} after a break (the 7 days before: {km(p)}). "
            f"That is {pct(change)} more than your usual week before the break ({km(ref)}, the weekly average "
            f"of the 4 weeks before it), an increase of {km(a - ref)}. Coming back above your old "
            f"volume is where a ramp matters; the evidence for the 10% threshold itself is weak. {next_step}"
        )
    else:
        title = f"Big first week back: {km_short(a)} after a break"
        message = (
            f"Your last 7 days (to {weekday_date(day)}): {km(a)} after a break (the 7 days before: {km(p)}). "
            f"No usual week from before the break is known, and a first week back above "
            f"{km(t.weekly_ramp_after_break_km)} is a big step; the evidence for weekly-ramp limits "
            f"is weak. {next_step}"
        )
    rule_text = (
        f"Weekly ramp: alert when the last 7 days' {channel_label(DISTANCE)} is more than {pct(t.weekly_ramp_pct)} above "
        f"the 7 days before (danger above {pct(t.weekly_ramp_danger_pct)}), only when the last 7 days reach "
        f"{km(t.weekly_ramp_min_km)} and the increase is at least {km(t.weekly_ramp_min_increase_km)}. After a "
        f"break (7 days before below {km(t.weekly_ramp_break_km)}) the comparison is with the usual week before "
        f"the break; without one, alert only above {km(t.weekly_ramp_after_break_km)}. At most one alert per "
        f"{t.cooldown_hours / 24:g} days unless the severity rises."
    )
    numbers = {
        "last_7d_km": r1(a),
        "previous_7d_km": r1(p),
        "ramp_pct": r1(change) if mode != MODE_NO_BASE else None,
        "increase_km": r1(a - ref) if ref is not None else r1(a - p),
        "mode": mode,
        "base_weekly_km": r1(base) if mode == MODE_BASE else None,
        "break_weeks": weeks if mode != MODE_WEEK else None,
        "threshold_pct": t.weekly_ramp_pct,
        "danger_pct": t.weekly_ramp_danger_pct,
        "min_volume_km": t.weekly_ramp_min_km,
        "min_increase_km": t.weekly_ramp_min_increase_km,
        "break_km": t.weekly_ramp_break_km,
        "after_break_km": t.weekly_ramp_after_break_km,
        "usual_weekly_km": r1(usual) if mode == MODE_WEEK else None,
        "next_7d_target_km": r1(target),
        "window": f"rolling 7 local days to {day.isoformat()}",
    }
    return Alert(
        rule=RULE, severity=severity, athlete_id=inp.athlete.id, athlete_name=inp.athlete.name, local_date=day,
        activity_id=None, title=title, message=message, numbers=numbers, rule_text=rule_text,
        evidence=evidence.WEEKLY_RAMP, dedupe_key=day_key(RULE, inp.athlete.id, day, severity),
    )
