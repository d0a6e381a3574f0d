"""What every rule gets (:class:`RuleInput`) and the shared day-rule machinery (cooldown).

Two kinds of rules:

* **day rules** (``weekly_ramp``, ``acwr``) look at one athlete-local day's load. Their
  condition usually stays true for several days in a row, so they have a cooldown: a day
  whose condition holds raises an alert only when the same rule raised none of the same or a
  higher severity in the cooldown before it (``cooldown_hours`` in whole local days: the
  default 168 h = 7 days, the length of the rolling week). The pass runs over the athlete's whole
  series, so the result for a day never depends on which days were asked for.
  Dedupe key ``<rule>:<athlete id>:<YYYY-MM-DD>:<severity>``.
* **activity rules** (``run_spike``, ``descent_spike``, ``hilly_after_symptoms`` and the comeback
  rules ``comeback_spike``, ``comeback_hills``, ``pain_next_morning``, ``returned_early``) look at one
  run; no cooldown (every run is its own event). Dedupe key ``<rule>:<athlete id>:<activity id>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from alerts.alert import Alert
from alerts.rules.thresholds import SEVERITY_RANK, RuleThresholds
from loadmon.domain import Activity, AlertSeverity, Athlete, Symptom
from loadmon.engine import LoadResult

__all__ = [
    "RuleInput", "DayCandidate", "DAY_RULES", "ACTIVITY_RULES", "cooldown_days", "cooldown_blocks",
    "raise_with_cooldown", "day_key", "activity_key",
]

DAY_RULES: tuple[str, ...] = ("weekly_ramp", "acwr")
ACTIVITY_RULES: tuple[str, ...] = ("run_spike", "descent_spike", "hilly_after_symptoms", "comeback_spike", "comeback_hills",
                                   "pain_next_morning", "returned_early")


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleInput:
    """Everything a rule may look at, for one athlete.

    ``load``: the engine's result (compute it without ``since`` so day rules see the whole
    series for their cooldown). ``activities``: the athlete's activities (used for names and
    dates of referenced runs). ``symptoms``: the athlete's symptom log. ``first_day`` /
    ``last_day``: the local days whose alerts are wanted (inclusive). ``live_from``: the first
    local day that can still be notified (see :func:`raise_with_cooldown`); ``None``: no
    distinction between history and live days.
    """

    athlete: Athlete
    load: LoadResult
    activities: Sequence[Activity] = ()
    symptoms: Sequence[Symptom] = ()
    thresholds: RuleThresholds = field(default_factory=RuleThresholds)
    first_day: date
    last_day: date
    live_from: date | None = None
    activities_by_id: Mapping[int, Activity] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "activities_by_id", {a.id: a for a in self.activities})

    def in_range(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True, kw_only=True, slots=True)
class DayCandidate:
    """A day on which a day rule's condition holds; ``build`` makes its alert (only when raised)."""

    day: date
    severity: AlertSeverity
    build: Callable[[], Alert]


def cooldown_days(rule: str, thresholds: RuleThresholds) -> float:
    """The cooldown of a day rule in local days (0 for activity rules)."""
    if rule in DAY_RULES:
        return thresholds.cooldown_hours / 24.0
    return 0.0


def cooldown_blocks(
    *, rule: str, thresholds: RuleThresholds, day: date, severity: AlertSeverity, other_day: date,
    other_severity: AlertSeverity,
) -> bool:
    """True when an alert of ``rule`` on ``other_day`` with ``other_severity`` silences one on
    ``day`` with ``severity``: fewer than the cooldown's days apart (either direction) and
    not a higher severity."""
    days = cooldown_days(rule, thresholds)
    if days <= 0:
        return False
    apart = abs((day - other_day).days)
    return apart < days and SEVERITY_RANK[AlertSeverity(other_severity)] >= SEVERITY_RANK[AlertSeverity(severity)]


def raise_with_cooldown(rule: str, thresholds: RuleThresholds, candidates: Iterable[DayCandidate],
                        first_day: date, last_day: date, live_from: date | None = None) -> list[Alert]:
    """Apply the cooldown to a day rule's candidates (in day order) and build the alerts of
    the raised days inside ``first_day..last_day``.

    ``live_from``: days before it are history (their alerts can no longer be sent: older than
    the notify window). A history day's alert does not silence a live day: otherwise, after a
    first backfill, a ramp that began a few days ago would raise its alert on a history day
    (recorded, never sent) and its cooldown would hide the ramp for up to 7 more days. The
    first live day whose condition holds and that only history alerts silence is raised as a
    *catch-up* (``numbers["catch_up_after"]`` = the history alert's day, and a sentence in the
    message); the days after it follow the normal cooldown. Whether a catch-up is sent is the
    caller's decision: it must drop one that an alert it actually *sent* silences
    (``loadmon.service.alerting`` does, with the stored alerts), so a catch-up never breaks the
    cooldown of a notified alert. The history days' own alerts do not change, so the result
    for any day before ``live_from`` does not depend on when evaluation ran."""
    window = cooldown_days(rule, thresholds)
    raised: list[DayCandidate] = []
    out: list[Alert] = []
    for cand in sorted(candidates, key=lambda c: c.day):
        blocker: DayCandidate | None = None
        catch_up_after: date | None = None
        for prev in reversed(raised):  # raised is in day order: stop once out of the cooldown
            if (cand.day - prev.day).days >= window:
                break
            if cooldown_blocks(rule=rule, thresholds=thresholds, day=cand.day, severity=cand.severity,
                               other_day=prev.day, other_severity=prev.severity):
                if live_from is not None and prev.day < live_from <= cand.day:
                    catch_up_after = prev.day  # silenced by history only (so far): keep looking
                    continue
                blocker = prev
                break
        if blocker is not None:
            continue
        raised.append(cand)
        if first_day <= cand.day <= last_day:
            alert = cand.build()
            if catch_up_after is not None:
                alert = _catch_up(alert, catch_up_after)
            out.append(alert)
    return out


def _catch_up(alert: Alert, history_day: date) -> Alert:
    note = (f" The condition already held on {history_day:%a %Y-%m-%d}, before the notify window (that alert was "
            "recorded, not sent); this is the first alert about it that can still reach you.")
    return dataclasses.replace(alert, message=alert.message + note,
                               numbers={**alert.numbers, "catch_up_after": history_day.isoformat()})


def day_key(rule: str, athlete_id: int, day: date, severity: AlertSeverity) -> str:
    return f"{rule}:{athlete_id}:{day.isoformat()}:{AlertSeverity(severity).value}"


def activity_key(rule: str, athlete_id: int, activity_id: int) -> str:
    return f"{rule}:{athlete_id}:{activity_id}"
