"""What an evaluation and a delivery run did, as records (the service's answer to its callers).

:func:`loadmon.service.alerting.evaluate` returns an :class:`AlertCounts`,
:func:`loadmon.service.alerting.deliver_due` a :class:`DeliveryCounts`, and
:func:`loadmon.service.after_store.after_change` (store, then evaluate and deliver) an
:class:`AlertCounts` carrying its :class:`DeliveryCounts`. ``to_dict()`` is the JSON form the
CLI prints and the job runs record; its keys are the ones the ``--json`` output has always had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlertCounts", "DeliveryCounts"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryCounts:
    """Outbox rows handled by one :func:`~loadmon.service.alerting.deliver_due` (messages, not alerts)."""

    due: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    postponed: int = 0  # not tried: its channel failed earlier in the same run
    errors: tuple[str, ...] = ()  # the first few, secret-free
    #: per channel: ``{"email": {"sent": 1, "retry": 0, "failed": 0}}`` (postponed counted as retry)
    by_channel: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"due": self.due, "sent": self.sent, "retry": self.retry, "failed": self.failed,
                "postponed": self.postponed, "errors": list(self.errors),
                "by_channel": {name: dict(per) for name, per in self.by_channel.items()}}


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertCounts:
    """What one evaluation did (see :func:`~loadmon.service.alerting.evaluate`), and, when it was
    followed by a delivery run, that run (``delivery``; None when nothing was delivered)."""

    athletes_evaluated: int = 0
    alerts_new: int = 0
    alerts_to_send: int = 0
    alerts_suppressed: int = 0
    alerts_cooldown: int = 0
    alert_ids: tuple[int, ...] = ()  # the new alerts' ids in the order they were stored
    alerts_withdrawn: int = 0
    alerts_reinstated: int = 0
    delivery: DeliveryCounts | None = None

    @property
    def changed(self) -> bool:
        """Whether any alert is new, withdrawn or reinstated."""
        return bool(self.alerts_new or self.alerts_withdrawn or self.alerts_reinstated)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "athletes_evaluated": self.athletes_evaluated, "alerts_new": self.alerts_new,
            "alerts_to_send": self.alerts_to_send, "alerts_suppressed": self.alerts_suppressed,
            "alerts_cooldown": self.alerts_cooldown, "alert_ids": list(self.alert_ids),
            "alerts_withdrawn": self.alerts_withdrawn, "alerts_reinstated": self.alerts_reinstated}
        if self.delivery is not None:
            sent = self.delivery.to_dict()
            out.update({"alerts_sent": sent["sent"], "deliveries_retry": sent["retry"] + sent["postponed"],
                        "deliveries_failed": sent["failed"], "delivery_errors": sent["errors"],
                        "deliveries_by_channel": sent["by_channel"]})
        return out
