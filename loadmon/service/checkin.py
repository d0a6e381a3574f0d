"""The morning check-in: queue the morning message, list what to check in, record the answer.

* :func:`queue_morning_checkins` (the ``morning_messages`` job, every 10 minutes) stores, for each
  athlete with an open symptom episode that has no reading yet this morning, ONE check-in message
  per local day (:mod:`alerts.checkin`: from ``[alerts] morning_checkin`` until 12:00 local) with
  its outbox rows, so the ``deliver`` job sends it with retries and once-only idempotency keys.
  Its dedupe key is per athlete and day: running the job again, a restart or a backfill never
  stores a second one. Without an alert channel nothing is stored (nobody would be asked).
* :func:`checkin_items` the open episodes for the ``/checkin`` page; :func:`record_checkin` stores
  one answer (a severity update) and re-evaluates the alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from alerts.alert import Alert
from alerts.checkin import CHECKIN_RULE, checkin_alert, due_items, open_items, parse_checkin_time, site_words
from loadmon.config import Config
from loadmon.domain import Athlete, Symptom
from loadmon.errors import ConfigError
from loadmon.logs import get_logger
from loadmon.service import alerting
from loadmon.service import symptoms as symptom_service
from loadmon.service.after_store import after_change
from loadmon.service.alert_counts import AlertCounts
from loadmon.service.context import Service

__all__ = ["CHECKIN_RULE", "CheckinCounts", "checkin_time", "store_notice", "queue_morning_checkins", "checkin_items", "record_checkin"]

log = get_logger("loadmon.checkin")


@dataclass(frozen=True, kw_only=True)
class CheckinCounts:
    """What one run of the morning job did: athletes looked at, messages queued (their alert ids),
    and the athletes whose message for today was stored already."""

    athletes: int = 0
    queued: int = 0
    already_queued: int = 0
    alert_ids: tuple[int, ...] = ()
    skipped: str | None = None  # why nothing was looked at (off, no channel)

    def to_dict(self) -> dict[str, Any]:
        return {
            "athletes": self.athletes,
            "queued": self.queued,
            "already_queued": self.already_queued,
            "alert_ids": list(self.alert_ids),
            "skipped": self.skipped,
        }


def checkin_time(config: Config, key: str = "morning_checkin") -> time | None:
    """``[alerts] <key>`` (``morning_checkin``, ``morning_limits``) as a local time; None when it is off ("")."""
    try:
        return parse_checkin_time(getattr(config.alerts, key))
    except ValueError as exc:
        raise ConfigError(f"config key alerts.{key}: {exc}", key=f"alerts.{key}") from None


def store_notice(svc: Service, athlete_id: int, alert: Alert, channels: Sequence[str], now: datetime) -> int | None:
    """Store a notice (a morning message: not a rule's warning) with its outbox rows; its id, or None when one
    with its dedupe key is stored already (an earlier run, another worker)."""
    (alert_id,) = svc.store.add_alerts(
        athlete_id,
        [
            {
                "rule": alert.rule,
                "severity": alert.severity.value,
                "local_date": alert.local_date,
                "activity_id": None,
                "dedupe_key": alert.dedupe_key,
                "message": alert.message,
                "payload": alert.to_dict(),
                "notified": True,
                "suppressed_reason": None,
            }
        ],
        channels=channels,
        now=now,
    )
    return alert_id


def queue_morning_checkins(svc: Service, athlete_ids: list[int] | None = None) -> CheckinCounts:
    """Store today's check-in message for every athlete (or those of ``athlete_ids``) it is due for now."""
    at = checkin_time(svc.config)
    if at is None:
        return CheckinCounts(skipped="alerts.morning_checkin is off")
    channels = alerting.channel_names(svc.config)
    if not channels:
        return CheckinCounts(skipped="no alert channel is configured")
    thresholds = alerting.rule_thresholds(svc.config)
    now = svc.clock()
    wanted = None if athlete_ids is None else set(athlete_ids)
    athletes = [a for a in svc.store.list_athletes() if wanted is None or a.id in wanted]
    queued: list[int] = []
    already = 0
    for athlete in athletes:
        items = due_items(svc.store.list_symptoms(athlete.id), thresholds, now=now, timezone=athlete.timezone, checkin_at=at)
        if not items:
            continue
        alert = checkin_alert(athlete=athlete, items=items, now=now)
        alert_id = store_notice(svc, athlete.id, alert, channels, now)
        if alert_id is None:  # today's was stored already (an earlier run, another worker)
            already += 1
            continue
        queued.append(alert_id)
        log.info(
            "checkin.queued",
            athlete_id=athlete.id,
            alert_id=alert_id,
            local_date=alert.local_date.isoformat(),
            symptom_ids=[i.symptom.id for i in items],
        )
    return CheckinCounts(athletes=len(athletes), queued=len(queued), already_queued=already, alert_ids=tuple(queued))


def checkin_items(svc: Service, athlete: Athlete) -> list[dict[str, Any]]:
    """The open episodes' symptoms, oldest first: ``id``, ``what`` ("right knee"), ``location``,
    ``last_severity``, ``last_at`` (local "YYYY-MM-DD HH:MM"), ``answered_today``."""
    tz = ZoneInfo(athlete.timezone)
    items = open_items(
        svc.store.list_symptoms(athlete.id), alerting.rule_thresholds(svc.config), now=svc.clock(), timezone=athlete.timezone
    )
    return [
        {
            "id": i.symptom.id,
            "what": site_words(i.symptom),
            "location": i.symptom.location,
            "last_severity": i.last_severity,
            "last_at": i.last_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "answered_today": i.answered_today,
        }
        for i in items
    ]


def record_checkin(
    svc: Service, athlete: Athlete, symptom_id: int, severity: int | str, at: datetime | None = None, note: str | None = None
) -> tuple[Symptom, AlertCounts]:
    """Store a reading (:func:`loadmon.service.symptoms.update_severity`: another athlete's symptom is
    :class:`~loadmon.errors.NotFoundError`), then evaluate the alerts and deliver what is due."""
    symptom = symptom_service.update_severity(svc, athlete, symptom_id, severity, at=at, note=note)
    counts = after_change(svc, [athlete.id], reason=f"symptom {symptom_id} has a new reading")
    log.info("checkin.recorded", athlete_id=athlete.id, symptom_id=symptom_id, severity=symptom.current_severity)
    return symptom, counts
