"""The morning limits message (``[alerts] morning_limits``, off by default): on mornings when the day's
limits are tighter than usual (in a comeback, after a run spike), send them (:func:`alerts.plan.limits_alert`).

Part of the ``morning_messages`` job: from the configured local time until 12:00, at most one message per
athlete and local day (its dedupe key), through the outbox like every alert (retries, once-only keys, e-mail
and push). The day's limits cost one engine pass, so an athlete whose message for today is stored already, or
who is in no comeback and has not run in the last 2 days (nothing can make the day tighter), is skipped before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alerts.checkin import CUTOFF
from alerts.plan import SPIKE_RECOVERY_DAYS, limits_alert, limits_key
from loadmon.logs import get_logger
from loadmon.service import alerting
from loadmon.service import plan as plan_service
from loadmon.service.checkin import checkin_time, store_notice
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
    at = checkin_time(svc.config, "morning_limits")
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
        # only a comeback or a run of the last SPIKE_RECOVERY_DAYS can make the day tighter: the others skip the
        # engine (the job runs every 10 minutes all morning)
        recent = local.date() - timedelta(days=SPIKE_RECOVERY_DAYS)
        if not svc.store.list_activities(athlete.id, since=recent, until=local.date()) and not plan_service.in_comeback(
                svc, athlete):
            usual += 1
            continue
        limits = plan_service.day_limits(svc, athlete, local.date()).limits
        if not limits.tighter:
            usual += 1
            continue
        alert = limits_alert(athlete=athlete, day=local.date(), limits=limits)
        alert_id = store_notice(svc, athlete.id, alert, channels, now)
        if alert_id is None:  # stored meanwhile (another worker)
            continue
        queued.append(alert_id)
        log.info("morning_limits.queued", athlete_id=athlete.id, alert_id=alert_id, local_date=local.date().isoformat(),
                 rest=limits.rest)
    return LimitsCounts(athletes=len(athletes), queued=len(queued), usual=usual, alert_ids=tuple(queued))
