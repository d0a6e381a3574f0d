"""The Store's Strava webhooks: the subscription loadmon created, the received events (recorded
once per (object type, object id, aspect, event time), claimed with a lease like the outbox)
and applying an event's effect together with marking it done, in one transaction."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from loadmon.domain import ActivityRecord
from loadmon.errors import NotFoundError
from loadmon.storage.activity_store import ActivityStoreMixin, UpsertResult
from loadmon.storage.duplicates import relink
from loadmon.storage.models import (
    ActivityRow,
    AthleteRow,
    StravaConnectionRow,
    StravaEventRow,
    StravaSubscriptionRow,
    SyncStateRow,
)
from loadmon.storage.rows import rowcount

__all__ = ["EventApplied", "StoredSubscription", "StravaEventClaim", "WebhookStoreMixin"]

STRAVA = "strava"


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredSubscription:
    id: int
    callback_url: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class StravaEventClaim:
    """A recorded event held by one processor until ``lease`` runs out."""

    id: int
    lease: str
    subscription_id: int
    owner_id: int
    object_type: str
    object_id: int
    aspect_type: str
    event_time: datetime
    updates: dict[str, Any]
    attempts: int
    received_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class EventApplied:
    """What :meth:`WebhookStoreMixin.apply_strava_event` did; ``finished`` False: another
    processor holds the event now, nothing was written."""

    finished: bool
    results: tuple[UpsertResult, ...] = ()
    deleted: int = 0
    forgotten: int = 0  # Strava-sourced activities removed (deauthorization)
    connection_removed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.deleted or self.forgotten or any(r.created or r.changed for r in self.results))


class WebhookStoreMixin(ActivityStoreMixin):
    """Strava push subscription and events."""

    # -- the subscription -------------------------------------------------------------------
    def save_strava_subscription(self, subscription_id: int, callback_url: str) -> None:
        """Remember the subscription loadmon created (the only one: Strava allows one per application)."""
        with self.session() as s:
            s.execute(delete(StravaSubscriptionRow))
            s.add(StravaSubscriptionRow(id=subscription_id, callback_url=callback_url))

    def strava_subscription(self) -> StoredSubscription | None:
        with self.session() as s:
            row = s.scalars(select(StravaSubscriptionRow).order_by(StravaSubscriptionRow.created_at.desc())).first()
            if row is None:
                return None
            return StoredSubscription(id=row.id, callback_url=row.callback_url, created_at=row.created_at)

    def delete_strava_subscription(self) -> int:
        with self.session() as s:
            return rowcount(s.execute(delete(StravaSubscriptionRow)))

    def athlete_for_strava_id(self, strava_athlete_id: int) -> int | None:
        """The athlete whose Strava connection is ``strava_athlete_id`` (needing re-authorisation or not)."""
        with self.session() as s:
            return s.scalar(
                select(StravaConnectionRow.athlete_id).where(StravaConnectionRow.strava_athlete_id == strava_athlete_id).limit(1)
            )

    # -- events -----------------------------------------------------------------------------
    def record_strava_event(
        self,
        *,
        subscription_id: int,
        owner_id: int,
        object_type: str,
        object_id: int,
        aspect_type: str,
        event_time: datetime,
        updates: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Record an event to process; False when this very event (Strava's retry) is recorded already."""
        key = (
            StravaEventRow.object_type == object_type,
            StravaEventRow.object_id == object_id,
            StravaEventRow.aspect_type == aspect_type,
            StravaEventRow.event_time == event_time,
        )
        try:
            with self.session() as s:
                if s.scalar(select(StravaEventRow.id).where(*key)) is not None:
                    return False
                s.add(
                    StravaEventRow(
                        subscription_id=subscription_id,
                        owner_id=owner_id,
                        object_type=object_type,
                        object_id=object_id,
                        aspect_type=aspect_type,
                        event_time=event_time,
                        updates=updates,
                        received_at=now,
                        state="pending",
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
            return True
        except IntegrityError:  # the same event recorded at the same moment by another request
            return False

    def claim_strava_events(self, now: datetime, *, lease_s: float = 120, limit: int = 50) -> list[StravaEventClaim]:
        """Claim due pending events, oldest first (a lease: two processors never take the same one)."""
        lease = secrets.token_hex(16)
        with self.session() as s:
            q = (
                select(StravaEventRow)
                .where(StravaEventRow.state == "pending", StravaEventRow.next_attempt_at <= now)
                .where(StravaEventRow.claimed_until.is_(None) | (StravaEventRow.claimed_until < now))
                .order_by(StravaEventRow.event_time, StravaEventRow.id)
                .limit(limit)
            )
            if self.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            out = []
            for row in s.scalars(q).all():
                row.claimed_until = now + timedelta(seconds=lease_s)
                row.claimed_by = lease
                out.append(
                    StravaEventClaim(
                        id=row.id,
                        lease=lease,
                        subscription_id=row.subscription_id,
                        owner_id=row.owner_id,
                        object_type=row.object_type,
                        object_id=row.object_id,
                        aspect_type=row.aspect_type,
                        event_time=row.event_time,
                        updates=dict(row.updates or {}),
                        attempts=int(row.attempts),
                        received_at=row.received_at,
                    )
                )
            return out

    def strava_events_due(self, now: datetime) -> bool:
        """Is a pending event due and unclaimed (one cheap query: the job runs every few seconds)?"""
        with self.session() as s:
            q = (
                select(StravaEventRow.id)
                .where(StravaEventRow.state == "pending", StravaEventRow.next_attempt_at <= now)
                .where(StravaEventRow.claimed_until.is_(None) | (StravaEventRow.claimed_until < now))
                .limit(1)
            )
            return s.scalar(q) is not None

    def apply_strava_event(
        self,
        claim: StravaEventClaim,
        *,
        athlete_id: int | None,
        outcome: str,
        now: datetime,
        records: Sequence[ActivityRecord] = (),
        deleted_ids: Sequence[int] = (),
        forget: bool = False,
    ) -> EventApplied:
        """The event's effect and ``state = done`` in ONE transaction, only while ``claim.lease``
        still holds the event: upsert ``records``, mark ``deleted_ids`` deleted, or (``forget``)
        delete the athlete's Strava connection, sync state and Strava-sourced activities (files
        the athlete imported stay)."""

        def once() -> EventApplied:
            if athlete_id is None:
                with self.session() as s:
                    return EventApplied(finished=self._finish(s, claim, outcome, now))
            with self._activity_writes(athlete_id) as s:
                if not self._finish(s, claim, outcome, now):
                    return EventApplied(finished=False)
                athlete = s.get(AthleteRow, athlete_id)
                if athlete is None:
                    raise NotFoundError(f"no athlete with id {athlete_id}")
                results = tuple(self._upsert_alone(s, athlete, rec) for rec in records)
                deleted = 0
                if deleted_ids:
                    rows = s.scalars(
                        select(ActivityRow).where(
                            ActivityRow.athlete_id == athlete_id,
                            ActivityRow.source == STRAVA,
                            ActivityRow.source_id.in_(list(deleted_ids)),
                            ActivityRow.deleted.is_(False),
                        )
                    ).all()
                    for row in rows:
                        row.deleted = True
                        relink(s, row)
                    deleted = len(rows)
                forgotten, removed = self._forget(s, athlete_id) if forget else (0, False)
                return EventApplied(finished=True, results=results, deleted=deleted, forgotten=forgotten, connection_removed=removed)

        out: EventApplied = self._retrying(f"Strava event {claim.id}", once)
        return out

    def _finish(self, s: Any, claim: StravaEventClaim, outcome: str, now: datetime) -> bool:
        result = s.execute(
            update(StravaEventRow)
            .where(StravaEventRow.id == claim.id, StravaEventRow.claimed_by == claim.lease, StravaEventRow.state == "pending")
            .values(state="done", processed_at=now, outcome=outcome[:2000], claimed_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        return bool(rowcount(result))

    def _forget(self, s: Any, athlete_id: int) -> tuple[int, bool]:
        rows = s.scalars(select(ActivityRow).where(ActivityRow.athlete_id == athlete_id, ActivityRow.source == STRAVA)).all()
        for row in rows:  # hand the primary role of a run to the athlete's own file copy first
            if not row.deleted:
                row.deleted = True
                relink(s, row)
        for row in rows:
            s.delete(row)
        s.flush()
        removed = rowcount(s.execute(delete(StravaConnectionRow).where(StravaConnectionRow.athlete_id == athlete_id)))
        s.execute(delete(SyncStateRow).where(SyncStateRow.athlete_id == athlete_id, SyncStateRow.key.like("strava%")))
        return len(rows), bool(removed)

    def retry_strava_event(self, claim: StravaEventClaim, *, now: datetime, error: str, next_attempt_at: datetime | None) -> bool:
        """Give the event back: due again at ``next_attempt_at``, or ``failed`` (given up) when None."""
        values: dict[str, Any] = {
            "attempts": claim.attempts + 1,
            "outcome": error[:2000],
            "claimed_until": None,
            "claimed_by": None,
        }
        if next_attempt_at is None:
            values.update(state="failed", processed_at=now)
        else:
            values["next_attempt_at"] = next_attempt_at
        with self.session() as s:
            result = s.execute(
                update(StravaEventRow)
                .where(StravaEventRow.id == claim.id, StravaEventRow.claimed_by == claim.lease)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(rowcount(result))

    def strava_event_counts(self) -> dict[str, int]:
        """Recorded events by state (pending, done, failed)."""
        with self.session() as s:
            return {str(k): int(n) for k, n in s.execute(select(StravaEventRow.state, func.count()).group_by(StravaEventRow.state))}

    def strava_events(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The latest recorded events, newest first (no secrets: events carry none)."""
        with self.session() as s:
            rows = s.scalars(select(StravaEventRow).order_by(StravaEventRow.id.desc()).limit(limit)).all()
            return [
                {
                    "id": r.id,
                    "object_type": r.object_type,
                    "object_id": r.object_id,
                    "aspect_type": r.aspect_type,
                    "owner_id": r.owner_id,
                    "event_time": r.event_time,
                    "received_at": r.received_at,
                    "state": r.state,
                    "attempts": r.attempts,
                    "processed_at": r.processed_at,
                    "outcome": r.outcome,
                }
                for r in rows
            ]
