"""The morning limits message (``[alerts] morning_limits``, off by default): on mornings when the day's
limits are tighter than usual (in a comeback, after a run spike), send them (:func:`alerts.plan.limits_alert`).

Part of the ``morning_messages`` job: from the configured local time until 12:00, at most one message per
athlete and local day (its dedupe key), through the outbox like every alert (retries, once-only keys, e-mail
and push). The day's limits cost one engine pass, so an athlete whose message for today is stored already,
or who has no run at all, is skipped before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from alerts.checkin import CUTOFF, parse_checkin_time
from alerts.plan import limits_alert, limits_key
from loadmon.errors import ConfigError
from loadmon.logs import get_logger
from loadmon.service import alerting
from loadmon.service import plan as plan_service
from loadmon.service.context import Service

__all__ = ["LimitsCounts", "queue_morning_limits"]

log = get_logger("loadmon.morning_limits")


@dataclass(frozen=True, kw_only=True)
class LimitsCounts:
    """One run: athletes looked at, messages queued (their alert ids), athletes whose limits were usual."""

    athletes: int = 0
    queued: int = 0
    usual: int = 0
    alert_ids: tuple[int, ...] = ()
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"athletes": self.athletes, "queued": self.queued, "usual": self.usual,
                "alert_ids": list(self.alert_ids), "skipped": self.skipped}


def queue_morning_limits(svc: Service) -> LimitsCounts:
    """Store today's limits message for every athlete it is due for now (see the module doc)."""
    try:
        at = parse_checkin_time(svc.config.alerts.morning_limits)
    except ValueError as exc:
        raise ConfigError(f"config key alerts.morning_limits: {exc}", key="alerts.morning_limits") from None
    if at is None:
        return LimitsCounts(skipped="alerts.morning_limits is off")
    channels = alerting.channel_names(svc.config)
    if not channels:
        return LimitsCounts(skipped="no alert channel is configured")
    now = svc.clock()
    athletes = svc.store.list_athletes()
    queued: list[int] = []
    usual = 0
    for athlete in athletes:
        local = now.astimezone(ZoneInfo(athlete.timezone))
        if not at <= local.time() < CUTOFF or limits_key(athlete.id, local.date()) in svc.store.alert_states(athlete.id):
            continue
        if not svc.store.list_activities(athlete.id, until=local.date()):
            continue
        limits = plan_service.day_limits(svc, athlete, local.date()).limits
        if not limits.tighter:
            usual += 1
            continue
        alert = limits_alert(athlete=athlete, day=local.date(), limits=limits)
        (alert_id,) = svc.store.add_alerts(
            athlete.id,
            [{"rule": alert.rule, "severity": alert.severity.value, "local_date": alert.local_date, "activity_id": None,
              "dedupe_key": alert.dedupe_key, "message": alert.message, "payload": alert.to_dict(), "notified": True,
              "suppressed_reason": None}],
            channels=channels, now=now)
        if alert_id is None:  # stored meanwhile (another worker)
            continue
        queued.append(alert_id)
        log.info("morning_limits.queued", athlete_id=athlete.id, alert_id=alert_id, local_date=local.date().isoformat(),
                 rest=limits.rest)
    return LimitsCounts(athletes=len(athletes), queued=len(queued), usual=usual, alert_ids=tuple(queued))
