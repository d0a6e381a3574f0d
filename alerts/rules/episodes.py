"""Symptom episodes and the readings the comeback rules look at (pure).

An **episode** is a lower-limb symptom (:data:`loadmon.domain.LOWER_LIMB_SITES`) from its first
reading at ``episode_min_severity`` (3 of 10) or more until it is resolved; the comeback rules
watch it while it is open and for ``comeback_days_after`` (28) days after (previous injury is
the most consistent risk factor for a new one: van der Worp et al. 2015). A symptom's readings
are its first entry and each later severity update (``loadmon symptom update``, the morning
check-in), oldest first.

A run is **tolerated** when the first reading after it (within ``pain_next_morning_hours``, and
before the next run) is not higher than the reading before it (the pain-monitoring model,
Silbernagel et al. 2007); the comeback distance grows from the longest tolerated run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from loadmon.domain import LOWER_LIMB_SITES, Symptom
from loadmon.rule_thresholds import RuleThresholds

__all__ = ["Episode", "episodes", "episode_at", "PainChange", "pain_change", "HighReading", "unanswered_high_reading", "KNEE_SITES"]

#: Sites whose message explains the knee's eccentric load downhill.
KNEE_SITES: frozenset[str] = frozenset({"knee", "it_band", "quad"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Episode:
    """A lower-limb symptom from its first reading at the episode severity until it is resolved."""

    symptom: Symptom
    began_at: datetime
    ended_at: datetime | None  # the symptom's resolve time (None: still open)

    def open_at(self, when: datetime) -> bool:
        return self.began_at <= when and (self.ended_at is None or when < self.ended_at)

    def watched_at(self, when: datetime, days_after: float) -> bool:
        """Open at ``when``, or resolved fewer than ``days_after`` days before it."""
        if when < self.began_at:
            return False
        return self.ended_at is None or when < self.ended_at + timedelta(days=days_after)


def episodes(symptoms: Sequence[Symptom], thresholds: RuleThresholds) -> list[Episode]:
    """The episodes of ``symptoms``, by the time they began."""
    out: list[Episode] = []
    for s in symptoms:
        if s.site not in LOWER_LIMB_SITES:
            continue
        began = next((at for at, severity in s.readings() if severity >= thresholds.episode_min_severity), None)
        if began is None or (s.resolved_at is not None and s.resolved_at < began):
            continue
        out.append(Episode(symptom=s, began_at=began, ended_at=s.resolved_at))
    out.sort(key=lambda e: (e.began_at, e.symptom.id))
    return out


def episode_at(all_episodes: Sequence[Episode], when: datetime, thresholds: RuleThresholds) -> Episode | None:
    """The episode the comeback rules follow at ``when``: of those watched then, the one that began
    last (the most cautious reference: the fewest runs since it began); None when none is."""
    watched = [e for e in all_episodes if e.watched_at(when, thresholds.comeback_days_after)]
    return watched[-1] if watched else None


@dataclass(frozen=True, kw_only=True, slots=True)
class PainChange:
    """The reading before a run and the first one after it, for one symptom."""

    symptom: Symptom
    before_at: datetime
    before: int
    after_at: datetime
    after: int

    @property
    def rose(self) -> bool:
        return self.after > self.before


def pain_change(
    symptom: Symptom, run_start: datetime, run_end: datetime, next_run_start: datetime | None, thresholds: RuleThresholds
) -> PainChange | None:
    """The symptom's reading before ``run_start`` and its first reading after ``run_end`` (within
    ``pain_next_morning_hours`` and before the next run starts), or None when either is missing
    or the symptom was resolved before the run."""
    if symptom.site not in LOWER_LIMB_SITES:
        return None
    if symptom.resolved_at is not None and symptom.resolved_at <= run_start:
        return None
    readings = symptom.readings()
    before = [(at, sev) for at, sev in readings if at <= run_start]
    if not before:
        return None
    limit = run_end + timedelta(hours=thresholds.pain_next_morning_hours)
    after = next(((at, sev) for at, sev in readings if run_end < at <= limit and (next_run_start is None or at < next_run_start)), None)
    if after is None:
        return None
    return PainChange(symptom=symptom, before_at=before[-1][0], before=before[-1][1], after_at=after[0], after=after[1])


@dataclass(frozen=True, kw_only=True, slots=True)
class HighReading:
    """A reading at ``returned_early_severity`` or more with no lower reading (or resolve) after it yet."""

    symptom: Symptom
    at: datetime
    severity: int


def unanswered_high_reading(symptom: Symptom, when: datetime, thresholds: RuleThresholds) -> HighReading | None:
    """The latest reading of ``symptom`` at ``returned_early_severity``+ in the ``returned_early_days``
    before ``when`` that no reading at or below ``returned_early_clear_severity`` (nor the resolve)
    followed before ``when``; None when there is none."""
    if symptom.site not in LOWER_LIMB_SITES:
        return None
    start = when - timedelta(days=thresholds.returned_early_days)
    readings = [(at, sev) for at, sev in symptom.readings() if at < when]
    highs = [(at, sev) for at, sev in readings if at >= start and sev >= thresholds.returned_early_severity]
    if not highs:
        return None
    at, severity = highs[-1]
    cleared = any(a > at and sev <= thresholds.returned_early_clear_severity for a, sev in readings)
    if symptom.resolved_at is not None and at < symptom.resolved_at <= when:
        cleared = True
    return None if cleared else HighReading(symptom=symptom, at=at, severity=severity)
