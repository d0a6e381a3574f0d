"""What the store hands the service about stored alerts and their outbox rows, as records.

Frozen keyword-only dataclasses (no SQLAlchemy here): the service reads fields, never string keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from loadmon.domain import AlertSeverity

__all__ = ["AlertState", "DeliveryClaim", "SentAlert"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryClaim:
    """One outbox row claimed for sending (:meth:`Store.claim_due_deliveries`).

    ``lease``: the token of this claim; pass it to ``renew_delivery_lease`` before sending and
    to ``finish_delivery``, which refuse a sender whose lease ran out and was taken by another.
    ``payload``: the stored alert (``Alert.to_dict()``; empty when the alert is gone).
    """

    id: int
    alert_id: int
    athlete_id: int | None
    channel: str
    attempts: int
    idempotency_key: str
    payload: dict[str, Any]
    lease: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertState:
    """A stored alert as the evaluation sees it (:meth:`Store.alert_states`): ``state`` is
    ``active`` or ``withdrawn``."""

    id: int
    rule: str
    state: str
    local_date: date


@dataclass(frozen=True, kw_only=True, slots=True)
class SentAlert:
    """An alert that was due to be sent and reached the runner (:meth:`Store.notified_alerts_between`)."""

    id: int
    severity: AlertSeverity
    local_date: date
