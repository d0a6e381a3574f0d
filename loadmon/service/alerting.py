"""The alert lifecycle: evaluate the rules, store each alert once, deliver it through the outbox.

* :func:`evaluate` computes each athlete's load (the pure engine over the stored activities,
  up to the athlete's local today), runs every rule (:mod:`alerts.rules`) over the athlete's
  whole history (or the days from ``since``) and stores the alerts that are new. The dedupe
  key of an alert (rule + athlete + day/severity or activity) is unique in the store, so
  evaluating twice, re-importing or re-syncing never stores an alert twice.
* An alert is **sent** (outbox rows ``pending``, one per configured channel) only when it is
  recent. The alerts of one evaluation for one athlete go out as ONE message per channel, most
  severe first: the most severe one's row carries them, the others' rows are ``bundled`` (their
  state is the carrier's). An alert is sent only when it is
  recent: its activity ended, or its day ended, at most ``alerts.notify_window_hours`` (48 h)
  before the clock. Older ones (a backfill, a late import) are **recorded, not sent** (rows
  ``suppressed``, with the reason). A day rule's alert is also recorded but not sent when the
  same rule already sent one of the same or a higher severity within its cooldown
  (``alerts.rules.cooldown_hours``); the rules apply the same cooldown themselves, this guard
  only matters when late data moved an alert to another day.
* :func:`deliver_due` flushes the outbox: due rows are leased, sent through the configured
  channels, marked ``sent``, retried with exponential backoff (``alerts.retry_base_s``,
  doubling, capped at 1 h) or marked ``failed`` after ``alerts.max_attempts``. A row whose
  channel is no longer configured fails with that reason. Delivery guarantee: at least once,
  with an idempotency key per alert and channel (``docs/alerts-delivery.md``).

Every function takes the :class:`~loadmon.service.context.Service` (config, store, clock).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alerts.alert import Alert
from alerts.checkin import CHECKIN_RULE
from alerts.delivery.channels import build_channels
from alerts.delivery.email import EmailSettings
from alerts.delivery.policy import Channel, DeliveryState, initial_state, next_attempt_at, should_give_up
from alerts.delivery.selftest import send_test_message
from alerts.plan import MORNING_LIMITS_RULE, NOTICE_RULES
from alerts.rules import DAY_RULES, SEVERITY_RANK, RuleThresholds, cooldown_blocks, cooldown_days, evaluate_rules
from loadmon.config import Config
from loadmon.domain import Activity, Athlete
from loadmon.engine import compute_load
from loadmon.errors import ConfigError, DeliveryError, LoadmonError, NotFoundError
from loadmon.logs import get_logger
from loadmon.rule_thresholds import ThresholdError
from loadmon.service.alert_counts import AlertCounts, DeliveryCounts
from loadmon.service.context import Service
from loadmon.service.load import engine_settings, today_for
from loadmon.storage.records import AlertState, DeliveryClaim, SentAlert

log = get_logger("loadmon.alerts")

__all__ = [
    "rule_thresholds", "email_settings", "configured_channels", "channel_names", "validate_channels", "event_time",
    "evaluate", "deliver_due", "retry_failed", "summary_line", "test_channels", "list_alerts",
    "get_alert", "acknowledge_alert", "alert_link", "checkin_link", "plan_link", "NOTICE_RULES",
]

#: Outbox rows claimed per round trip. The lease (``alerts.delivery_lease_s``, 600 s) is renewed
#: before each send and must outlast one send (SMTP: timeout_s + data_timeout_s, checked in the config).
CLAIM_BATCH = 10
MAX_ERRORS_REPORTED = 20


# ---------------------------------------------------------------------------- configuration
def rule_thresholds(config: Config) -> RuleThresholds:
    """The ``[alerts.rules]`` keys as the rules' own :class:`RuleThresholds`."""
    rules = config.alerts.rules
    values = {f.name: getattr(rules, f.name) for f in dataclasses.fields(RuleThresholds)}
    try:
        return RuleThresholds(**values)
    except ThresholdError as exc:
        key = f"alerts.rules.{exc.field}"
        raise ConfigError(f"config key {key}: {exc}", key=key) from None


def email_settings(config: Config) -> EmailSettings:
    """The ``[alerts.email]`` keys as the e-mail channel's settings."""
    e = config.alerts.email
    return EmailSettings(enabled=e.enabled, smtp_host=e.smtp_host, smtp_port=e.smtp_port, security=e.security,
                         username=e.username or None, password=e.password or None, from_addr=e.from_addr,
                         to=tuple(e.to), timeout_s=e.timeout_s, data_timeout_s=e.data_timeout_s)


def configured_channels(config: Config, *, validate: bool = True) -> list[Channel]:
    """``email`` (when enabled), ``push[0]``, ``push[1]``, ... (one per URL) and ``maildir`` (when set).

    With ``validate`` a bad setting is a :class:`ConfigError` naming the key (never a secret).
    """
    return build_channels(email=email_settings(config), push_urls=list(config.alerts.push_urls), validate=validate,
                          maildir=config.alerts.maildir)


def channel_names(config: Config) -> list[str]:
    """The names of the configured channels (the outbox rows a new alert gets)."""
    return [c.name for c in configured_channels(config, validate=False)]


def validate_channels(config: Config) -> list[str]:
    """Check the alert settings at start-up: the channels (SMTP keys, apprise URLs) and the rule
    thresholds. Returns the channel names; raises :class:`ConfigError` naming the bad key."""
    rule_thresholds(config)
    return [c.name for c in configured_channels(config, validate=True)]


# ------------------------------------------------------------------------------- evaluation
def event_time(alert: Alert, activities_by_id: Mapping[int, Activity], athlete: Athlete) -> datetime:
    """When the thing an alert is about happened, for the notify window: the end of its
    activity (start + elapsed or moving time), else the end of its local day."""
    if alert.activity_id is not None:
        act = activities_by_id.get(alert.activity_id)
        if act is not None:
            seconds = act.elapsed_time_s or act.moving_time_s or 0.0
            return act.start_time + timedelta(seconds=max(0.0, float(seconds)))
    return datetime.combine(alert.local_date + timedelta(days=1), time(0), tzinfo=ZoneInfo(athlete.timezone))


def _cooldown_blocker(svc: Service, alert: Alert, thresholds: RuleThresholds) -> SentAlert | None:
    """A stored, sent alert of the same day rule that silences ``alert`` (see the module doc)."""
    days = cooldown_days(alert.rule, thresholds)
    if days <= 0:
        return None
    span = timedelta(days=int(days) + 1)
    for other in svc.store.notified_alerts_between(alert.athlete_id, alert.rule, alert.local_date - span,
                                                   alert.local_date + span):
        if cooldown_blocks(rule=alert.rule, thresholds=thresholds, day=alert.local_date, severity=alert.severity,
                           other_day=other.local_date, other_severity=other.severity):
            return other
    return None


def evaluate(svc: Service, athlete_ids: Iterable[int], *, since: date | None = None,
             reason: str | None = None) -> AlertCounts:
    """Run every rule for these athletes and store the new alerts (with their outbox rows).

    ``since``: first local day to evaluate (default: the athlete's whole history; the rules
    are cheap and dedupe keys make re-evaluation free of duplicates). Returns :class:`AlertCounts`:
    ``athletes_evaluated``, ``alerts_new`` (stored now), ``alerts_to_send`` (inside the
    notify window), ``alerts_suppressed`` (outside it), ``alerts_cooldown`` (not sent because
    of a rule's cooldown), ``alert_ids`` (the new alerts' ids in the order they were stored:
    per athlete, the ones to send - most severe first, one message per channel - then the rest),
    ``alerts_withdrawn`` and ``alerts_reinstated`` (see :func:`_withdraw_or_reinstate`).
    ``reason``: what changed (e.g. "activity 12 was excluded"), kept with a withdrawn alert.
    """
    cfg = svc.config
    now = svc.clock()
    thresholds = rule_thresholds(cfg)
    settings = engine_settings(cfg)
    channels = channel_names(cfg)
    window_h = cfg.alerts.notify_window_hours
    counts: dict[str, Any] = {"athletes_evaluated": 0, "alerts_new": 0, "alerts_to_send": 0,
                              "alerts_suppressed": 0, "alerts_cooldown": 0, "alert_ids": [],
                              "alerts_withdrawn": 0, "alerts_reinstated": 0}
    for athlete_id in sorted(set(athlete_ids)):
        athlete = svc.store.get_athlete(athlete_id=athlete_id)
        today = today_for(svc, athlete)
        activities = svc.store.list_activities(athlete.id, until=today)
        counts["athletes_evaluated"] += 1
        # the morning check-in messages are not the rules' alerts: never withdrawn or reinstated by them
        stored = {k: v for k, v in svc.store.alert_states(athlete.id).items() if v.rule not in NOTICE_RULES}
        load = compute_load(activities, athlete, settings, until=today)
        if load.history_start is None:  # nothing counts (any more): no alert's condition holds
            if since is None:
                _withdraw_or_reinstate(svc, athlete, stored, [], [], None, today, counts, reason)
            continue
        first = max(since, load.history_start) if since is not None else load.history_start
        if first > today:
            continue
        # the first local day whose end is inside the notify window: earlier days are history
        live_from = (now - timedelta(hours=window_h)).astimezone(ZoneInfo(athlete.timezone)).date()
        symptoms = svc.store.list_symptoms(athlete.id)
        found = evaluate_rules(athlete=athlete, load=load, activities=activities, symptoms=symptoms,
                               thresholds=thresholds, first_day=first, last_day=today, live_from=live_from)
        by_id = {a.id: a for a in activities}
        if any(v.local_date <= today and (since is None or v.local_date >= first) for v in stored.values()):
            holding = evaluate_rules(athlete=athlete, load=load, activities=activities, symptoms=symptoms,
                                     thresholds=dataclasses.replace(thresholds, cooldown_hours=0.0),
                                     first_day=first, last_day=today)
            _withdraw_or_reinstate(svc, athlete, stored, found, holding, first if since is not None else None, today,
                                   counts, reason, by_id=by_id)
        known = set(stored)
        batch: list[tuple[Alert, bool, bool, str | None]] = []  # (alert, notified, cooled, reason)
        for alert in found:
            if alert.dedupe_key in known:
                continue
            event_at = event_time(alert, by_id, athlete)
            notified = initial_state(event_at, now, window_h) == DeliveryState.PENDING
            why = None
            cooled = False
            if not notified:
                what = f"activity {alert.activity_id}" if alert.activity_id is not None else alert.local_date.isoformat()
                why = f"not sent: {what} is older than the {window_h:g} h notify window (found {now.isoformat(timespec='seconds')})"
            elif alert.rule in DAY_RULES:
                blocker = _cooldown_blocker(svc, alert, thresholds)
                if blocker is not None and "catch_up_after" in alert.numbers:
                    # a catch-up exists only to outlive a cooldown of alerts that were never sent;
                    # this one's cooldown comes from a sent alert: it is not an alert at all
                    log.debug("alert.catch_up_dropped", athlete_id=athlete.id, rule=alert.rule,
                              local_date=alert.local_date.isoformat(), sent_alert_id=blocker.id)
                    continue
                if blocker is not None:
                    notified, cooled = False, True
                    why = (f"not sent: cooldown - {alert.rule} alert {blocker.id} ({blocker.severity.value}) on "
                              f"{blocker.local_date.isoformat()} is within {thresholds.cooldown_hours:g} h")
            known.add(alert.dedupe_key)
            batch.append((alert, notified, cooled, why))
        # the alerts to send go out as one message per channel, most severe first (stable: day, rule)
        batch.sort(key=lambda item: (not item[1], -SEVERITY_RANK[item[0].severity] if item[1] else 0))
        ids = svc.store.add_alerts(athlete.id, [
            {"rule": alert.rule, "severity": alert.severity.value, "local_date": alert.local_date,
             "activity_id": alert.activity_id, "dedupe_key": alert.dedupe_key, "message": alert.message,
             "payload": alert.to_dict(), "notified": notified, "suppressed_reason": why}
            for alert, notified, _cooled, why in batch], channels=channels, now=now)
        for (alert, notified, cooled, _why), alert_id in zip(batch, ids, strict=True):
            if alert_id is None:  # stored meanwhile by another process
                continue
            counts["alerts_new"] += 1
            counts["alert_ids"].append(alert_id)
            if notified:
                counts["alerts_to_send"] += 1
            elif cooled:
                counts["alerts_cooldown"] += 1
            else:
                counts["alerts_suppressed"] += 1
            (log.info if notified else log.debug)("alert.new", alert_id=alert_id, athlete_id=athlete.id, rule=alert.rule,
                     severity=alert.severity.value, local_date=alert.local_date.isoformat(),
                     activity_id=alert.activity_id, notified=notified)
    return AlertCounts(**{**counts, "alert_ids": tuple(counts["alert_ids"])})


def _withdraw_or_reinstate(svc: Service, athlete: Athlete, stored: Mapping[str, AlertState], found: Sequence[Alert],
                           holding: Sequence[Alert], first: date | None, today: date, counts: dict[str, Any],
                           reason: str | None, *, by_id: Mapping[int, Activity] | None = None) -> None:
    """Withdraw the stored active alerts on days ``first``..``today`` (every day up to today
    when ``first`` is None) whose condition no longer holds, and reinstate the withdrawn ones
    that the rules raise again.

    ``holding``: the rules' alerts without cooldown (every day and run whose condition holds,
    the cooldown and the notify window left aside, so an alert is never withdrawn only because
    time passed). A day rule's alert holds while its rule's condition holds on its day at any
    severity; a run rule's alert while the run still trips it. A withdrawn alert whose
    deliveries were not sent is never sent; reinstated, it is sent when still inside the notify
    window (else recorded as not sent)."""
    now = svc.clock()
    keys = {a.dedupe_key for a in holding}
    days = {(a.rule, a.local_date) for a in holding if a.rule in DAY_RULES}
    gone = [v.id for key, v in stored.items()
            if v.state == "active" and v.local_date <= today and (first is None or v.local_date >= first)
            and key not in keys and (v.rule, v.local_date) not in days]
    if gone:
        why = f"withdrawn: {reason or 'the data changed'}; its condition no longer holds"
        counts["alerts_withdrawn"] += svc.store.withdraw_alerts(gone, now=now, reason=why)
        log.info("alert.withdrawn", athlete_id=athlete.id, alert_ids=gone, reason=why)
    window_h = svc.config.alerts.notify_window_hours
    for alert in found:
        known = stored.get(alert.dedupe_key)
        if known is None or known.state != "withdrawn":
            continue
        send = initial_state(event_time(alert, by_id or {}, athlete), now, window_h) == DeliveryState.PENDING
        note = None if send else f"not sent: reinstated after the {window_h:g} h notify window"
        svc.store.reinstate_alert(known.id, now=now, send=send, note=note, content={
            "severity": alert.severity.value, "message": alert.message, "payload": alert.to_dict()})
        counts["alerts_reinstated"] += 1
        log.info("alert.reinstated", athlete_id=athlete.id, alert_id=known.id, sent=send)


# --------------------------------------------------------------------------------- delivery
def deliver_due(svc: Service, *, channels: Sequence[Channel] | None = None) -> DeliveryCounts:
    """Send every outbox row that is due, once each; returns :class:`DeliveryCounts` (``sent``, ``retry``,
    ``failed``, ``postponed``), the same per channel (``by_channel``: ``{"email": {"sent": 1,
    "retry": 0, "failed": 0}}``, postponed rows counted as ``retry``) and the first few
    ``errors`` (secret-free). Counts are messages (one message may carry several alerts).

    ``channels``: default :func:`configured_channels` (validated: a bad setting raises
    :class:`ConfigError` before anything is sent). When a channel fails, its other rows in
    this call are not tried (``postponed`` to the failed row's retry time, attempts unchanged).
    """
    cfg = svc.config.alerts
    if channels is None:
        channels = configured_channels(svc.config, validate=True)
    by_name = {c.name: c for c in channels}
    svc.store.release_orphaned_bundles(svc.clock())  # a group whose carrying alert was deleted
    counts: dict[str, Any] = {"due": 0, "sent": 0, "retry": 0, "failed": 0, "postponed": 0, "errors": [],
                              "by_channel": {}}
    down: dict[str, tuple[str, datetime]] = {}
    seen: set[int] = set()
    while True:
        batch = [d for d in svc.store.claim_due_deliveries(svc.clock(), lease_s=cfg.delivery_lease_s,
                                                           limit=CLAIM_BATCH)
                 if d.id not in seen]
        if not batch:
            break
        for row in batch:
            seen.add(row.id)
            counts["due"] += 1
            _deliver_one(svc, row, by_name, down, counts, max_attempts=cfg.max_attempts, base_s=cfg.retry_base_s,
                         lease_s=cfg.delivery_lease_s)
    return DeliveryCounts(**{**counts, "errors": tuple(counts["errors"])})


def retry_failed(svc: Service) -> int:
    """Put the deliveries that gave up (``failed`` after ``max_attempts``, or a channel that was
    missing) back in the outbox, due now with a fresh attempt count; returns how many. For
    after an outage or a fixed setting: nothing that failed is ever dropped for good."""
    count = svc.store.requeue_failed_deliveries(svc.clock())
    if count:
        log.info("alert.deliveries_requeued", count=count)
    return count


def _count(counts: dict[str, Any], channel: str, outcome: str) -> None:
    counts[outcome] += 1
    per = counts["by_channel"].setdefault(channel, {"sent": 0, "retry": 0, "failed": 0})
    per["retry" if outcome == "postponed" else outcome] += 1


def _note_error(counts: dict[str, Any], text: str) -> None:
    if len(counts["errors"]) < MAX_ERRORS_REPORTED:
        counts["errors"].append(text)


def _linked(config: Config, alert: Alert, alert_id: int) -> Alert:
    """The alert with its page's link (:func:`alert_link`; a morning check-in: :func:`checkin_link`)
    when ``[web] public_url`` is set."""
    if alert.rule == CHECKIN_RULE:
        link = checkin_link(config)
    elif alert.rule == MORNING_LIMITS_RULE:
        link = plan_link(config)
    else:
        link = alert_link(config, alert_id)
    return dataclasses.replace(alert, link=link) if link else alert


def _deliver_one(svc: Service, row: DeliveryClaim, by_name: Mapping[str, Channel],
                 down: dict[str, tuple[str, datetime]], counts: dict[str, Any], *, max_attempts: int,
                 base_s: float, lease_s: float) -> None:
    store = svc.store
    lease = row.lease  # only the sender still holding the row may send or finish it
    name = row.channel
    attempts = row.attempts
    now = svc.clock()
    channel = by_name.get(name)
    if channel is None:
        error = (f"channel {name!r} is no longer configured (alerts.email.enabled / alerts.push_urls / alerts.maildir); "
                 f"configured: {', '.join(by_name) or 'none'}")
        store.finish_delivery(row.id, state=DeliveryState.FAILED.value, attempts=attempts, now=now, error=error,
                              lease=lease)
        _count(counts, name, "failed")
        _note_error(counts, f"delivery {row.id}: {error}")
        return
    try:
        alert = _linked(svc.config, Alert.from_dict(row.payload), row.alert_id)
        # the other alerts of the same evaluation ride in this row's message (most severe first)
        others = [_linked(svc.config, Alert.from_dict(p), i) for i, p in store.bundle_alerts(row.id)]
    except (ValueError, KeyError, TypeError) as exc:
        error = f"the stored alert {row.alert_id} (or one it carries) cannot be read: {exc}"
        store.finish_delivery(row.id, state=DeliveryState.FAILED.value, attempts=attempts, now=now, error=error,
                              lease=lease)
        _count(counts, name, "failed")
        _note_error(counts, f"delivery {row.id}: {error}")
        return
    if name in down:
        reason, retry_at = down[name]
        store.finish_delivery(row.id, state=DeliveryState.PENDING.value, attempts=attempts, now=now,
                              next_attempt_at=retry_at, error=f"not attempted: {name} failed earlier in this run: {reason}",
                              lease=lease)
        _count(counts, name, "postponed")
        return
    if not store.renew_delivery_lease(row.id, lease=lease, now=svc.clock(), lease_s=lease_s):
        log.warning("alert.lease_lost", delivery_id=row.id, alert_id=row.alert_id, channel=name)
        return  # another sender claimed it after this one's lease ran out: it sends it, not this one
    try:
        channel.send([alert, *others] if others else alert, row.idempotency_key)
    except Exception as exc:
        error = str(exc) if isinstance(exc, (DeliveryError, LoadmonError)) else f"{name}: {type(exc).__name__}: {exc}"
        attempts += 1
        now = svc.clock()
        permanent = bool(getattr(exc, "permanent", False))
        if permanent or should_give_up(attempts, max_attempts):
            store.finish_delivery(row.id, state=DeliveryState.FAILED.value, attempts=attempts, now=now, error=error,
                                  lease=lease)
            _count(counts, name, "failed")
            retry_at = next_attempt_at(1, now, base_s=base_s)
            log.error("alert.delivery_failed", delivery_id=row.id, alert_id=row.alert_id, channel=name,
                      attempts=attempts, permanent=permanent, error=error,
                      retry_with="loadmon alerts deliver --retry-failed")
        else:
            retry_at = next_attempt_at(attempts, now, base_s=base_s)
            store.finish_delivery(row.id, state=DeliveryState.PENDING.value, attempts=attempts, now=now,
                                  next_attempt_at=retry_at, error=error, lease=lease)
            _count(counts, name, "retry")
            log.warning("alert.delivery_retry", delivery_id=row.id, alert_id=row.alert_id, channel=name,
                        attempts=attempts, next_attempt_at=retry_at.isoformat(), error=error)
        down[name] = (error, retry_at)
        _note_error(counts, f"delivery {row.id} ({name}): {error}")
        return
    store.finish_delivery(row.id, state=DeliveryState.SENT.value, attempts=attempts + 1, now=svc.clock(),
                          lease=lease)
    _count(counts, name, "sent")
    log.info("alert.sent", delivery_id=row.id, alert_id=row.alert_id, channel=name, attempts=attempts + 1,
             alerts=1 + len(others))


def summary_line(out: AlertCounts | Mapping[str, Any]) -> str:
    """What an import, sync, symptom or correction did with alerts, per channel, e.g. ``alerts: 2 new;
    email: 1 waiting for retry; push[0]: 1 sent`` or ``alerts: 0 new, 2 withdrawn`` (from :func:`loadmon.service.after_store.after_change`'s
    counts, or their ``to_dict()``; a channel with nothing due is not named)."""
    if isinstance(out, AlertCounts):
        out = out.to_dict()
    new = int(out.get("alerts_new", 0))
    kept = int(out.get("alerts_suppressed", 0)) + int(out.get("alerts_cooldown", 0))
    changed = "".join(f", {n} {label}" for key, label in (("alerts_withdrawn", "withdrawn"), ("alerts_reinstated", "reinstated"))
                      if (n := int(out.get(key, 0))))
    parts = [f"alerts: {new} new" + (f" ({kept} recorded, not sent)" if kept else "") + changed]
    for channel, per in sorted(out.get("deliveries_by_channel", {}).items()):
        said = [f"{n} {label}" for key, label in (("sent", "sent"), ("retry", "waiting for retry"), ("failed", "failed"))
                if (n := per.get(key, 0))]
        if said:
            parts.append(f"{channel}: {', '.join(said)}")
    return "; ".join(parts)


def test_channels(svc: Service) -> list[dict[str, Any]]:
    """``loadmon alerts test``: a harmless test message on every configured channel.

    Returns one ``{"channel", "ok", "error"}`` per channel (empty when none is configured);
    a bad setting raises :class:`ConfigError` first.
    """
    channels = configured_channels(svc.config, validate=True)
    results = send_test_message(channels, now=svc.clock())
    return [{"channel": r.channel, "ok": r.ok, "error": r.error} for r in results]


test_channels.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# ---------------------------------------------------------------------------------- reading
def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def list_alerts(svc: Service, athlete: Athlete | None = None, *, limit: int | None = None, since: date | None = None,
                ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Stored alerts, oldest first, as JSON-ready dicts (``limit``: the newest ``limit``).

    Keys: id, athlete, athlete_id, rule, severity, local_date, activity_id, title, message,
    notified, state, withdrawn_at, withdrawn_reason, acknowledged_at (None until acknowledged),
    created_at, dedupe_key, numbers, rule_text, evidence, deliveries (channel, state, attempts,
    last_error, sent_at, next_attempt_at).
    """
    names = {a.id: a.name for a in svc.store.list_athletes()}
    rows = svc.store.list_alerts(athlete.id if athlete is not None else None, limit=limit, since=since, alert_ids=ids)
    out = []
    for r in rows:
        payload = r.get("payload") or {}
        out.append({
            "id": r["id"],
            "athlete": names.get(r["athlete_id"]),
            "athlete_id": r["athlete_id"],
            "rule": r["rule"],
            "severity": r["severity"],
            "local_date": _iso(r["local_date"]),
            "activity_id": r["activity_id"],
            "title": payload.get("title"),
            "message": r["message"],
            "notified": bool(r["notified"]),
            "state": r.get("state", "active"),
            "withdrawn_at": _iso(r.get("withdrawn_at")),
            "withdrawn_reason": r.get("withdrawn_reason"),
            "acknowledged_at": _iso(r.get("acknowledged_at")),
            "created_at": _iso(r["created_at"]),
            "dedupe_key": r["dedupe_key"],
            "numbers": payload.get("numbers", {}),
            "rule_text": payload.get("rule_text"),
            "evidence": payload.get("evidence"),
            "deliveries": [{k: _iso(v) for k, v in d.items()} for d in r["deliveries"]],
        })
    return out


def get_alert(svc: Service, athlete: Athlete, alert_id: int) -> dict[str, Any]:
    """One of the athlete's alerts as :func:`list_alerts` gives it; another athlete's (or none) is
    :class:`~loadmon.errors.NotFoundError`."""
    found = list_alerts(svc, athlete, ids=[alert_id])
    if not found:
        raise NotFoundError(f"no alert with id {alert_id}")
    return found[0]


def acknowledge_alert(svc: Service, athlete: Athlete, alert_id: int) -> dict[str, Any]:
    """Mark the athlete's alert acknowledged (now, by the service clock; acknowledging again keeps the
    first time) and return it; another athlete's alert (or none) is :class:`~loadmon.errors.NotFoundError`."""
    svc.store.acknowledge_alert(athlete.id, alert_id, svc.clock())
    log.info("alert.acknowledged", alert_id=alert_id, athlete_id=athlete.id)
    return get_alert(svc, athlete, alert_id)


def alert_link(config: Config, alert_id: int) -> str | None:
    """``<[web] public_url>/alerts/<id>``, the alert's page; None without a public URL."""
    base = config.web.public_url.strip().rstrip("/")
    return f"{base}/alerts/{alert_id}" if base else None


def plan_link(config: Config) -> str | None:
    """``<[web] public_url>/plan``, the Plan a run page (the morning limits' link); None without a public URL."""
    base = config.web.public_url.strip().rstrip("/")
    return f"{base}/plan" if base else None


def checkin_link(config: Config) -> str | None:
    """``<[web] public_url>/checkin``, the morning check-in page; None without a public URL."""
    base = config.web.public_url.strip().rstrip("/")
    return f"{base}/checkin" if base else None
