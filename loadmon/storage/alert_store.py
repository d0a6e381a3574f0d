"""The Store's alerts, their outbox (deliveries) and the user's corrections (delegated to
:mod:`loadmon.storage.corrections`)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from loadmon.domain import Activity, AlertSeverity, Symptom
from loadmon.errors import NotFoundError
from loadmon.storage import corrections
from loadmon.storage.core import StoreCore
from loadmon.storage.models import AlertRow, DeliveryRow
from loadmon.storage.records import AlertState, DeliveryClaim, SentAlert
from loadmon.storage.rows import rowcount


class AlertStoreMixin(StoreCore):
    """Alerts, the outbox and the user's corrections."""

    # -- alerts and the outbox ---------------------------------------------------------------
    def alert_summary_for(self, athlete_ids: Sequence[int], *, since: date, until: date | None = None,
                          exclude_rules: Sequence[str] = ()) -> dict[int, dict[str, Any]]:
        """Per athlete, in two queries: ``last`` (the latest alert up to ``until``: id, rule,
        severity, local_date; None without alerts) and ``recent`` (the alerts with a local day
        in ``since``..``until``, oldest first: id, rule, severity, local_date); the alerts of
        ``exclude_rules`` are left out of both."""
        ids = sorted({int(i) for i in athlete_ids})
        out: dict[int, dict[str, Any]] = {i: {"last": None, "recent": []} for i in ids}
        if not ids:
            return out
        with self.session() as s:
            rank = func.row_number().over(partition_by=AlertRow.athlete_id,
                                          order_by=(AlertRow.local_date.desc(), AlertRow.id.desc())).label("rank")
            inner = select(AlertRow.athlete_id, AlertRow.id, AlertRow.rule, AlertRow.severity, AlertRow.local_date,
                           rank).where(AlertRow.athlete_id.in_(ids))
            if exclude_rules:
                inner = inner.where(AlertRow.rule.not_in(list(exclude_rules)))
            if until is not None:
                inner = inner.where(AlertRow.local_date <= until)
            sub = inner.subquery()
            for aid, alert_id, rule, severity, day in s.execute(
                    select(sub.c.athlete_id, sub.c.id, sub.c.rule, sub.c.severity, sub.c.local_date).where(sub.c.rank == 1)):
                out[aid]["last"] = {"id": alert_id, "rule": rule, "severity": severity, "local_date": day}
            q = (select(AlertRow.athlete_id, AlertRow.id, AlertRow.rule, AlertRow.severity, AlertRow.local_date)
                 .where(AlertRow.athlete_id.in_(ids), AlertRow.local_date >= since)
                 .order_by(AlertRow.athlete_id, AlertRow.local_date, AlertRow.id))
            if exclude_rules:
                q = q.where(AlertRow.rule.not_in(list(exclude_rules)))
            if until is not None:
                q = q.where(AlertRow.local_date <= until)
            for aid, alert_id, rule, severity, day in s.execute(q):
                out[aid]["recent"].append({"id": alert_id, "rule": rule, "severity": severity, "local_date": day})
        return out

    def add_alert(self, athlete_id: int, *, rule: str, severity: str, local_date: date, activity_id: int | None,
                  dedupe_key: str, message: str, payload: dict[str, Any], notified: bool,
                  channels: Sequence[str], now: datetime, suppressed_reason: str | None = None) -> int | None:
        """Store one alert and its outbox rows (see :meth:`add_alerts`); its id, or None when the
        dedupe key already exists."""
        return self.add_alerts(athlete_id, [{
            "rule": rule, "severity": severity, "local_date": local_date, "activity_id": activity_id,
            "dedupe_key": dedupe_key, "message": message, "payload": payload, "notified": notified,
            "suppressed_reason": suppressed_reason}], channels=channels, now=now)[0]

    def add_alerts(self, athlete_id: int, alerts: Sequence[dict[str, Any]], *, channels: Sequence[str],
                   now: datetime) -> list[int | None]:
        """Store the alerts of one evaluation for one athlete and their outbox rows, in one
        transaction; returns each one's new id, or None when its dedupe key already exists (also
        when a concurrent writer stored it first).

        Each alert: ``rule``, ``severity``, ``local_date``, ``activity_id``, ``dedupe_key``,
        ``message``, ``payload``, ``notified`` and ``suppressed_reason``. Not ``notified``: its rows
        are ``suppressed`` with the reason as their note. The ``notified`` ones go out as ONE
        message per channel: the first of them (the caller puts the most severe first) gets a
        ``pending`` row, due now, that carries the others, whose rows are ``bundled`` with
        ``bundle_id`` = that row. Each row's idempotency key is
        :func:`loadmon.domain.make_idempotency_key` (its own dedupe key, channel).
        """
        from loadmon.domain import DeliveryState, make_idempotency_key

        for _attempt in range(3):  # a concurrent writer's keys: the next attempt skips them
            try:
                with self.session() as s:
                    keys = [a["dedupe_key"] for a in alerts]
                    known = set(s.scalars(select(AlertRow.dedupe_key).where(AlertRow.dedupe_key.in_(keys))))
                    ids: list[int | None] = []
                    carriers: dict[str, int] = {}
                    for a in alerts:
                        if a["dedupe_key"] in known:
                            ids.append(None)
                            continue
                        known.add(a["dedupe_key"])
                        row = AlertRow(athlete_id=athlete_id, rule=a["rule"], severity=a["severity"],
                                       local_date=a["local_date"], activity_id=a["activity_id"],
                                       dedupe_key=a["dedupe_key"], message=a["message"], payload=a["payload"],
                                       notified=a["notified"], created_at=now)
                        s.add(row)
                        s.flush()
                        ids.append(row.id)
                        for ch in channels:
                            d = DeliveryRow(alert_id=row.id, channel=ch, attempts=0,
                                            idempotency_key=make_idempotency_key(a["dedupe_key"], ch))
                            if not a["notified"]:
                                d.state, d.last_error = DeliveryState.SUPPRESSED.value, a.get("suppressed_reason")
                            elif ch in carriers:
                                d.state, d.bundle_id = DeliveryState.BUNDLED.value, carriers[ch]
                            else:
                                d.state, d.next_attempt_at = DeliveryState.PENDING.value, now
                            s.add(d)
                            if d.state == DeliveryState.PENDING.value:
                                s.flush()
                                carriers[ch] = d.id
                    return ids
            except IntegrityError:
                continue
        return [None] * len(alerts)  # not stored: the next evaluation finds them again

    def release_orphaned_bundles(self, now: datetime) -> int:
        """Bundled rows whose carrying row is gone (its alert deleted) become ``pending``, due
        ``now``, each its own message: an alert is never dropped with another one. Returns how many."""
        with self.session() as s:
            carriers = select(DeliveryRow.id)
            result = s.execute(update(DeliveryRow)
                               .where(DeliveryRow.state == "bundled", DeliveryRow.bundle_id.not_in(carriers))
                               .values(state="pending", bundle_id=None, next_attempt_at=now, claimed_until=None)
                               .execution_options(synchronize_session=False))
            return rowcount(result)

    def alert_keys(self, athlete_id: int) -> set[str]:
        """The dedupe keys of every stored alert of the athlete (to skip known alerts cheaply)."""
        with self.session() as s:
            return set(s.scalars(select(AlertRow.dedupe_key).where(AlertRow.athlete_id == athlete_id)))

    def notified_alerts_between(self, athlete_id: int, rule: str, first: date, last: date) -> list[SentAlert]:
        """Alerts of ``rule`` that were due to be sent (``notified``) on local days first..last;
        a withdrawn one only when it reached the runner (a delivery sent, or no outbox row)."""
        with self.session() as s:
            rows = s.execute(select(AlertRow.id, AlertRow.severity, AlertRow.local_date).where(
                AlertRow.athlete_id == athlete_id, AlertRow.rule == rule, AlertRow.notified.is_(True),
                _reached_runner(), AlertRow.local_date >= first, AlertRow.local_date <= last).order_by(AlertRow.local_date, AlertRow.id))
            return [SentAlert(id=i, severity=AlertSeverity(sev), local_date=d) for i, sev, d in rows]

    def last_alert_time(self, athlete_id: int, rule: str) -> datetime | None:
        with self.session() as s:
            return s.scalar(select(func.max(AlertRow.created_at)).where(
                AlertRow.athlete_id == athlete_id, AlertRow.rule == rule, AlertRow.notified.is_(True),
                _reached_runner()))

    # -- the user's corrections (loadmon.storage.corrections) ----------------------------------
    def set_excluded(self, athlete_id: int, activity_id: int, *, excluded: bool, reason: str | None = None) -> Activity:
        return corrections.set_excluded(self, athlete_id, activity_id, excluded=excluded, reason=reason)

    def update_symptom(self, athlete_id: int, symptom_id: int, **changes: Any) -> Symptom:
        return corrections.update_symptom(self, athlete_id, symptom_id, changes)

    def delete_symptom(self, athlete_id: int, symptom_id: int) -> Symptom:
        return corrections.delete_symptom(self, athlete_id, symptom_id)

    def alert_states(self, athlete_id: int) -> dict[str, AlertState]:
        return corrections.alert_states(self, athlete_id)

    def withdraw_alerts(self, alert_ids: Sequence[int], *, now: datetime, reason: str) -> int:
        return corrections.withdraw_alerts(self, list(alert_ids), now=now, reason=reason)

    def reinstate_alert(self, alert_id: int, *, now: datetime, send: bool, note: str | None = None,
                        content: dict[str, Any] | None = None) -> None:
        corrections.reinstate_alert(self, alert_id, now=now, send=send, note=note, content=content)

    def list_alerts(self, athlete_id: int | None = None, *, limit: int | None = None, since: date | None = None,
                    alert_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Alerts with their deliveries, oldest first; ``limit`` keeps the newest ``limit``."""
        with self.session() as s:
            q = select(AlertRow).order_by(AlertRow.local_date, AlertRow.id)
            if athlete_id is not None:
                q = q.where(AlertRow.athlete_id == athlete_id)
            if since is not None:
                q = q.where(AlertRow.local_date >= since)
            if alert_ids is not None:
                q = q.where(AlertRow.id.in_(list(alert_ids)))
            rows = s.scalars(q).all()
            if limit is not None:
                rows = rows[-limit:] if limit > 0 else []
            ids = [r.id for r in rows]
            deliveries: dict[int, list[dict[str, Any]]] = {}
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                rows_d = s.scalars(select(DeliveryRow).where(DeliveryRow.alert_id.in_(chunk)).order_by(DeliveryRow.id)).all()
                # a bundled row's state is the state of the row whose message carries it
                carrier_ids = {d.bundle_id for d in rows_d if d.bundle_id is not None}
                carriers = {c.id: c for c in s.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(carrier_ids)))}
                for d in rows_d:
                    c = carriers.get(d.bundle_id, d) if d.bundle_id is not None else d
                    deliveries.setdefault(d.alert_id, []).append({
                        "channel": d.channel, "state": c.state, "attempts": c.attempts, "last_error": c.last_error,
                        "sent_at": c.sent_at, "next_attempt_at": c.next_attempt_at,
                        "sent_with_alert": c.alert_id if c is not d else None})
            return [{"id": r.id, "athlete_id": r.athlete_id, "rule": r.rule, "severity": r.severity,
                     "local_date": r.local_date, "activity_id": r.activity_id, "dedupe_key": r.dedupe_key,
                     "message": r.message, "payload": r.payload, "notified": r.notified, "created_at": r.created_at,
                     "state": r.state, "withdrawn_at": r.withdrawn_at, "withdrawn_reason": r.withdrawn_reason,
                     "acknowledged_at": r.acknowledged_at, "deliveries": deliveries.get(r.id, [])} for r in rows]

    def acknowledge_alert(self, athlete_id: int, alert_id: int, at: datetime) -> datetime:
        """Mark the athlete's alert acknowledged at ``at`` (the first time only); returns when it
        was acknowledged. Another athlete's alert, or none, is :class:`NotFoundError`."""
        with self.session() as s:
            row = s.get(AlertRow, alert_id)
            if row is None or row.athlete_id != athlete_id:
                raise NotFoundError(f"no alert with id {alert_id}")
            if row.acknowledged_at is None:
                row.acknowledged_at = at
            return row.acknowledged_at

    def bundle_alerts(self, delivery_id: int) -> list[tuple[int, dict[str, Any]]]:
        """(alert id, payload) of the stored alerts the delivery row ``delivery_id`` carries besides its own."""
        with self.session() as s:
            rows = s.execute(select(AlertRow.id, AlertRow.payload).join(DeliveryRow, DeliveryRow.alert_id == AlertRow.id)
                             .where(DeliveryRow.bundle_id == delivery_id).order_by(DeliveryRow.id))
            return [(int(i), p) for i, p in rows]

    def claim_due_deliveries(self, now: datetime, *, lease_s: float = 120, limit: int = 100) -> list[DeliveryClaim]:
        """Claim pending deliveries that are due (a lease, so two workers never send the same one at once).

        Each :class:`DeliveryClaim` comes with ``lease``, a token new to this claim: pass it to
        :meth:`renew_delivery_lease` before sending and to :meth:`finish_delivery`, which refuse a
        sender whose lease ran out and was taken by another one.
        """
        lease = secrets.token_hex(16)
        with self.session() as s:
            q = (select(DeliveryRow).where(DeliveryRow.state == "pending", DeliveryRow.next_attempt_at <= now)
                 .where((DeliveryRow.claimed_until.is_(None)) | (DeliveryRow.claimed_until < now))
                 .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id).limit(limit))
            if self.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = s.scalars(q).all()
            out = []
            for d in rows:
                d.claimed_until = now + timedelta(seconds=lease_s)
                d.claimed_by = lease
                alert = s.get(AlertRow, d.alert_id)
                out.append(DeliveryClaim(id=d.id, alert_id=d.alert_id, channel=d.channel, attempts=int(d.attempts),
                                         lease=lease, idempotency_key=d.idempotency_key,
                                         payload=alert.payload if alert else {},
                                         athlete_id=alert.athlete_id if alert else None))
            return out

    def renew_delivery_lease(self, delivery_id: int, *, lease: str | None, now: datetime, lease_s: float) -> bool:
        """Hold the row ``lease_s`` more seconds from ``now`` (just before sending it); False when
        another sender has claimed it meanwhile (then do not send it). ``lease=None``: no check."""
        with self.session() as s:
            q = update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.state == "pending")
            if lease is not None:
                q = q.where(DeliveryRow.claimed_by == lease)
            result = s.execute(q.values(claimed_until=now + timedelta(seconds=lease_s))
                               .execution_options(synchronize_session=False))
            return bool(rowcount(result))

    def finish_delivery(self, delivery_id: int, *, state: str, attempts: int, now: datetime,
                        next_attempt_at: datetime | None = None, error: str | None = None,
                        lease: str | None = None) -> bool:
        """Record the outcome of a send. With ``lease`` (from :meth:`claim_due_deliveries`) the
        row is changed only while this sender still holds it, in the UPDATE's WHERE: a sender
        whose lease ran out and was claimed by another one returns False and changes nothing
        (it never turns the other's ``sent`` back into ``pending``)."""
        values: dict[str, Any] = {"state": state, "attempts": attempts, "claimed_until": None, "claimed_by": None,
                                  "last_error": error, "next_attempt_at": next_attempt_at}
        if state == "sent":
            values["sent_at"] = now
        with self.session() as s:
            q = update(DeliveryRow).where(DeliveryRow.id == delivery_id)
            if lease is not None:
                q = q.where(DeliveryRow.claimed_by == lease)
            result = s.execute(q.values(**values).execution_options(synchronize_session=False))
            if rowcount(result):
                return True
            if s.get(DeliveryRow, delivery_id) is None:
                raise NotFoundError(f"no delivery with id {delivery_id}")
            return False

    def requeue_failed_deliveries(self, now: datetime) -> int:
        """Put every ``failed`` delivery back in the outbox: ``pending``, due ``now``, attempts 0
        (its last error is kept until the next attempt). Returns how many."""
        with self.session() as s:
            result = s.execute(update(DeliveryRow).where(DeliveryRow.state == "failed")
                               .values(state="pending", attempts=0, next_attempt_at=now, claimed_until=None,
                                       claimed_by=None)
                               .execution_options(synchronize_session=False))
            return rowcount(result)

    def delivery_counts(self) -> dict[str, int]:
        with self.session() as s:
            return {state: n for state, n in s.execute(select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state))}


def _reached_runner() -> Any:
    """SQL: the alert is active, or withdrawn after a delivery was sent (or it had no channel)."""
    outbox = select(DeliveryRow.id).where(DeliveryRow.alert_id == AlertRow.id)
    return or_(AlertRow.state == "active", outbox.where(DeliveryRow.state == "sent").exists(), ~outbox.exists())
