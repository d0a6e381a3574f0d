"""The user's corrections and what follows from them: an activity excluded from the load (or
included again), a symptom edited or deleted, and the alerts withdrawn when their condition no
longer holds (or reinstated when it holds again).

Each function is one transaction on the :class:`~loadmon.storage.store.Store` and touches only
the rows of the athlete it is given: another athlete's id is a :class:`NotFoundError`, the same
answer as an id that does not exist.

Alert states: ``active`` (the default) or ``withdrawn`` (kept, with ``withdrawn_at`` and
``withdrawn_reason``). Withdrawing an alert also withdraws its deliveries that were not sent
yet (outbox state ``pending`` becomes ``withdrawn``): the outbox only sends ``pending`` rows,
so a withdrawn alert that was not delivered is never sent. Deliveries already sent, failed or
suppressed keep their state.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loadmon.domain import Activity, Symptom
from loadmon.errors import NotFoundError
from loadmon.storage.duplicates import relink
from loadmon.storage.models import ActivityRow, AlertRow, DeliveryRow, SymptomRow
from loadmon.storage.records import AlertState
from loadmon.storage.rows import rowcount, to_activity, to_symptom


class Store(Protocol):
    """What these functions need of :class:`loadmon.storage.Store` (named here, not imported: no cycle)."""

    def session(self) -> AbstractContextManager[Session]: ...

__all__ = ["ACTIVE", "WITHDRAWN", "set_excluded", "update_symptom", "delete_symptom", "alert_states",
           "withdraw_alerts", "reinstate_alert"]

ACTIVE = "active"
WITHDRAWN = "withdrawn"
_SYMPTOM_FIELDS = frozenset({"site", "side", "location", "severity", "started_at", "resolved_at", "note"})


def set_excluded(store: Store, athlete_id: int, activity_id: int, *, excluded: bool,
                 reason: str | None = None) -> Activity:
    """Exclude the athlete's activity from the load (kept and listed) or include it again; the
    copies of the same run then re-decide which one counts (an excluded copy never does while
    another copy is not excluded)."""

    with store.session() as s:
        row = s.get(ActivityRow, activity_id)
        if row is None or row.athlete_id != athlete_id:
            raise NotFoundError(f"no activity with id {activity_id} for this athlete (see `loadmon activities`)")
        row.excluded = excluded
        row.excluded_reason = reason if excluded else None
        relink(s, row)
        return to_activity(row)


def _own_symptom(s: Any, athlete_id: int, symptom_id: int) -> SymptomRow:
    row = s.get(SymptomRow, symptom_id)
    if row is None or row.athlete_id != athlete_id:
        raise NotFoundError(f"no symptom with id {symptom_id} for this athlete (see `loadmon symptom list`)")
    return row


def update_symptom(store: Store, athlete_id: int, symptom_id: int, changes: dict[str, Any]) -> Symptom:
    """Change fields of the athlete's symptom (validated by the service)."""

    unknown = set(changes) - _SYMPTOM_FIELDS
    if unknown:
        raise ValueError(f"not symptom fields: {', '.join(sorted(unknown))}")
    with store.session() as s:
        row = _own_symptom(s, athlete_id, symptom_id)
        for key, value in changes.items():
            setattr(row, key, value)
        s.flush()
        return to_symptom(row)


def delete_symptom(store: Store, athlete_id: int, symptom_id: int) -> Symptom:
    """Delete the athlete's symptom; returns it as it was."""

    with store.session() as s:
        row = _own_symptom(s, athlete_id, symptom_id)
        gone = to_symptom(row)
        s.delete(row)
        return gone


def alert_states(store: Store, athlete_id: int) -> dict[str, AlertState]:
    """Every stored alert of the athlete by dedupe key."""
    with store.session() as s:
        rows = s.execute(select(AlertRow.dedupe_key, AlertRow.id, AlertRow.rule, AlertRow.state, AlertRow.local_date)
                         .where(AlertRow.athlete_id == athlete_id))
        return {key: AlertState(id=i, rule=rule, state=st, local_date=d) for key, i, rule, st, d in rows}


def withdraw_alerts(store: Store, alert_ids: list[int], *, now: datetime, reason: str) -> int:
    """Withdraw these active alerts and their unsent deliveries; returns how many alerts."""
    if not alert_ids:
        return 0
    with store.session() as s:
        done = s.execute(update(AlertRow).where(AlertRow.id.in_(alert_ids), AlertRow.state == ACTIVE)
                         .values(state=WITHDRAWN, withdrawn_at=now, withdrawn_reason=reason)
                         .execution_options(synchronize_session=False))
        # the alert's own message, or its place in another alert's message (a ``bundled`` row)
        s.execute(update(DeliveryRow).where(DeliveryRow.alert_id.in_(alert_ids),
                                            DeliveryRow.state.in_(("pending", "bundled")))
                  .values(state=WITHDRAWN, bundle_id=None, next_attempt_at=None, claimed_until=None, last_error=reason)
                  .execution_options(synchronize_session=False))
        # the alerts that rode in a withdrawn alert's message are still due: each goes out on its own
        withdrawn_carriers = select(DeliveryRow.id).where(DeliveryRow.state == WITHDRAWN)
        s.execute(update(DeliveryRow).where(DeliveryRow.state == "bundled", DeliveryRow.bundle_id.in_(withdrawn_carriers))
                  .values(state="pending", bundle_id=None, next_attempt_at=now, claimed_until=None)
                  .execution_options(synchronize_session=False))
        return rowcount(done)


def reinstate_alert(store: Store, alert_id: int, *, now: datetime, send: bool, note: str | None,
                    content: dict[str, Any] | None = None) -> None:
    """Make a withdrawn alert active again (its condition holds again), with ``content`` (the
    alert as raised now: ``severity``, ``message``, ``payload``). Its deliveries that were
    withdrawn before being sent become ``pending`` (due ``now``) when ``send``, else
    ``suppressed`` with ``note``."""
    with store.session() as s:
        s.execute(update(AlertRow).where(AlertRow.id == alert_id, AlertRow.state == WITHDRAWN)
                  .values(state=ACTIVE, withdrawn_at=None, withdrawn_reason=None, **(content or {}))
                  .execution_options(synchronize_session=False))
        values: dict[str, Any] = ({"state": "pending", "next_attempt_at": now, "last_error": None} if send
                                  else {"state": "suppressed", "next_attempt_at": None, "last_error": note})
        s.execute(update(DeliveryRow).where(DeliveryRow.alert_id == alert_id, DeliveryRow.state == WITHDRAWN)
                  .values(**values).execution_options(synchronize_session=False))
