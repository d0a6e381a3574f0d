"""Store, then evaluate and deliver: the one call every entry point makes after it stored something.

Whatever changed an athlete's data - a FIT import (``loadmon import``, the watched folder, the
demo), a Strava sync or reconciliation, a symptom logged, edited or deleted, an activity
excluded or included again - ends with :func:`after_change` for the athletes it touched:

1. the alert settings are checked first (a :class:`~loadmon.errors.ConfigError` naming the key,
   before anything is evaluated);
2. the rules run (:func:`loadmon.service.alerting.evaluate`): new alerts are stored with their
   outbox rows, alerts whose condition no longer holds are withdrawn (``reason`` says why);
3. with ``deliver`` (the default) the outbox is flushed (:func:`~loadmon.service.alerting.deliver_due`).
   The daemon's and the worker's evaluation jobs pass ``deliver=False``: their own ``deliver``
   job flushes the outbox on its schedule.

Evaluations in one process run one at a time (the cooldown check reads, then writes). Which
entry point takes which path, and how a run that died between storing and evaluating is caught
up, is in ``docs/alerts-delivery.md``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable

from loadmon.service import alerting
from loadmon.service.alert_counts import AlertCounts
from loadmon.service.context import Service

__all__ = ["after_change"]

_evaluate_lock = threading.Lock()  # one evaluation at a time in this process (cooldowns read-then-write)


def after_change(svc: Service, athlete_ids: Iterable[int], *, reason: str | None = None,
                 deliver: bool = True) -> AlertCounts:
    """Evaluate the alert rules for the athletes whose data changed, then (``deliver``) send what is due.

    ``reason``: what changed (e.g. "activity 12 was excluded"), kept with a withdrawn alert.
    Returns the evaluation's :class:`AlertCounts`, with ``delivery`` set when it delivered.
    """
    ids = sorted(set(athlete_ids))
    channels = alerting.configured_channels(svc.config, validate=True) if deliver else None
    alerting.rule_thresholds(svc.config)
    with _evaluate_lock:
        counts = alerting.evaluate(svc, ids, reason=reason) if ids else AlertCounts()
    if not deliver:
        return counts
    return dataclasses.replace(counts, delivery=alerting.deliver_due(svc, channels=channels))
