"""The morning check-in (pure): is one due for an athlete now, and the message that asks for it.

While a symptom episode is open (:func:`alerts.rules.episodes.episodes`: a lower-limb symptom from
its first reading at ``episode_min_severity`` until it is resolved), the runner is asked each
morning how it feels, so the comeback rules (``pain_next_morning``, ``returned_early``) get the
readings they read. A check-in is **due** for an athlete when, in the athlete's local time:

* it is the configured check-in time or later, and before :data:`CUTOFF` (12:00): a daemon that
  was down at 07:30 and starts at 09:00 still asks that morning, never in the afternoon;
* at least one episode is open, and it has no reading since :data:`DAY_STARTS` (03:00) today
  (a reading logged before the message went out answers it already).

The check-in is an :class:`~alerts.alert.Alert` of its own rule (:data:`CHECKIN_RULE`, severity
info) so it goes through the outbox (retries, once-only idempotency keys, e-mail and push); its
dedupe key is per athlete and local day, so at most one is stored a day. It is not a warning:
rule evaluation never withdraws it, and Today and the club view do not count it.

Standard library + :mod:`loadmon.domain` + :mod:`alerts.alert` + :mod:`alerts.rules.episodes` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from alerts.alert import Alert
from alerts.rules.episodes import Episode, episodes
from loadmon.domain import AlertSeverity, Athlete, Symptom
from loadmon.rule_thresholds import RuleThresholds

__all__ = [
    "CHECKIN_RULE",
    "CUTOFF",
    "DAY_STARTS",
    "CheckinItem",
    "checkin_key",
    "open_items",
    "due_items",
    "checkin_alert",
    "parse_checkin_time",
    "site_words",
]

#: The rule name of the check-in messages (stored alerts of this rule are notices, not warnings).
CHECKIN_RULE = "morning_checkin"
#: No check-in message is sent at or after this local time (the morning is over).
CUTOFF = time(12, 0)
#: A reading at or after this local time today answers today's check-in (one logged at 00:30 is last night's).
DAY_STARTS = time(3, 0)


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckinItem:
    """One open episode's symptom and its latest reading."""

    symptom: Symptom
    last_at: datetime
    last_severity: int
    answered_today: bool  # a reading since DAY_STARTS (local) today


def parse_checkin_time(text: str) -> time | None:
    """``"07:30"`` -> 07:30; ``""`` -> None (off). ``ValueError`` says what is allowed: HH:MM from
    03:00 to 11:59 (a morning: the day's readings start at 03:00 and no message goes out after 12:00)."""
    text = text.strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"expected HH:MM (e.g. \"07:30\") or \"\" for off, got {text!r}")
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day")
    when = time(hour, minute)
    if not DAY_STARTS <= when < CUTOFF:
        raise ValueError(f"must be a morning time from 03:00 to 11:59 (no check-in is sent from 12:00), got {text!r}")
    return when


def site_words(s: Symptom) -> str:
    """``right knee``, ``it band``, ``left achilles (lateral)``."""
    side = f"{s.side} " if s.side in ("left", "right") else "both " if s.side == "both" else ""
    return f"{side}{s.site.replace('_', ' ')}"


def open_items(symptoms: Sequence[Symptom], thresholds: RuleThresholds, *, now: datetime, timezone: str) -> list[CheckinItem]:
    """The symptoms of the episodes open at ``now`` (oldest episode first), each with its latest reading."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    day_start = datetime.combine(local.date(), DAY_STARTS, tzinfo=tz)
    out = []
    for ep in episodes(symptoms, thresholds):
        if not _open(ep, now):
            continue
        readings = [(at, sev) for at, sev in ep.symptom.readings() if at <= now]
        last_at, last = readings[-1]
        out.append(
            CheckinItem(symptom=ep.symptom, last_at=last_at, last_severity=last, answered_today=any(at >= day_start for at, _ in readings))
        )
    return out


def _open(ep: Episode, now: datetime) -> bool:
    return ep.ended_at is None and ep.began_at <= now


def due_items(
    symptoms: Sequence[Symptom], thresholds: RuleThresholds, *, now: datetime, timezone: str, checkin_at: time
) -> list[CheckinItem]:
    """The open episodes to ask about now (see the module doc); empty when no check-in is due."""
    local = now.astimezone(ZoneInfo(timezone)).time()
    if not checkin_at <= local < CUTOFF:
        return []
    items = open_items(symptoms, thresholds, now=now, timezone=timezone)
    return [i for i in items if not i.answered_today]


def checkin_key(athlete_id: int, day: date) -> str:
    """The dedupe key: one check-in per athlete and local day."""
    return f"{CHECKIN_RULE}:{athlete_id}:{day.isoformat()}"


def checkin_alert(*, athlete: Athlete, items: Sequence[CheckinItem], now: datetime) -> Alert:
    """The check-in message for ``items`` (not empty), dated the athlete's local day of ``now``."""
    if not items:
        raise ValueError("items: a check-in needs at least one open episode")
    tz = ZoneInfo(athlete.timezone)
    day = now.astimezone(tz).date()
    names = [site_words(i.symptom) for i in items]
    what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
    lines = [f"How is your {what} this morning? One tap on the check-in page records it (pain 0-10)."]
    for i in items:
        when = i.last_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        lines.append(f"- {site_words(i.symptom)}: last reading {i.last_severity}/10 ({when})")
    lines.append("Your morning readings tell loadmon whether a run was tolerated (pain not higher the next morning).")
    return Alert(
        rule=CHECKIN_RULE,
        severity=AlertSeverity.INFO,
        athlete_id=athlete.id,
        athlete_name=athlete.name,
        local_date=day,
        activity_id=None,
        title=f"How is your {what} this morning?",
        message="\n".join(lines),
        numbers={},
        rule_text=(
            "Sent on mornings while a lower-limb symptom episode is open and has no reading yet "
            "that day; turn it off with [alerts] morning_checkin = \"\""
        ),
        evidence="Daily pain monitoring guides a return to running (pain-monitoring model, Silbernagel et al. 2007).",
        dedupe_key=checkin_key(athlete.id, day),
    )
