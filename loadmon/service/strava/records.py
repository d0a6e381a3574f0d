"""What the Strava service hands upward: frozen records instead of dicts read by string keys.

Each has ``to_dict()``: the JSON form the CLI prints (``--json``), the daemon records in
``job_runs`` and :mod:`loadmon.service.strava_sync` returns - the same keys in the same order
as before these records existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.strava import BudgetStatus
from loadmon.service.strava.common import iso


@dataclass(frozen=True, kw_only=True, slots=True)
class SkippedItem:
    """One activity a run skipped with a named error (the run went on past it)."""

    activity_id: int | None
    reason: str  # e.g. "StorageError", "malformed"
    error: str  # names the activity

    def to_dict(self) -> dict[str, Any]:
        return {"activity_id": self.activity_id, "reason": self.reason, "error": self.error}


@dataclass(frozen=True, kw_only=True, slots=True)
class RunCounts:
    """The counts of one listing run (sync, reconcile or backfill)."""

    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    error_messages: tuple[str, ...] = ()
    skipped: tuple[SkippedItem, ...] = ()
    requests: int = 0  # API requests
    pages: int = 0  # pages finished
    listed: int = 0  # activities listed
    rechecked: int = 0  # fresh activities whose streams were read again

    @property
    def errors(self) -> int:
        return len(self.error_messages)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.deleted)

    def to_dict(self) -> dict[str, Any]:
        return {"new": self.new, "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged,
                "errors": self.errors, "error_messages": list(self.error_messages),
                "skipped": [s.to_dict() for s in self.skipped],
                "requests": self.requests, "pages": self.pages, "listed": self.listed, "rechecked": self.rechecked}


def _alerts_dict(alerts: dict[str, Any] | None, alerts_error: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if alerts is not None:
        out["alerts"] = alerts
    if alerts_error is not None:
        out["alerts_error"] = alerts_error
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillResult:
    """One backfill run (see :func:`loadmon.service.strava.backfill.backfill`)."""

    athlete: str
    counts: RunCounts
    done: bool  # the whole history is read
    stopped: bool  # the stop flag ended the run
    cursor: datetime | None  # start time of the newest activity read (the stored position)
    resume_at: datetime | None  # when to run again, when the budget ended the run
    message: str | None  # with resume_at: "Strava request budget spent: resume after ..."
    waits: int  # sleeps for the budget in this run
    waited_s: float
    total_listed: int  # over all runs
    alerts: dict[str, Any] | None = None  # what the alert rules did, when they ran
    alerts_error: str | None = None  # why they did not

    def to_dict(self) -> dict[str, Any]:
        out = self.counts.to_dict()
        out.pop("rechecked")
        out.update({"athlete": self.athlete, "done": self.done, "cursor": iso(self.cursor),
                    "resume_at": iso(self.resume_at), "waits": self.waits, "waited_s": self.waited_s,
                    "total_listed": self.total_listed, "stopped": self.stopped})
        if self.message is not None:
            out["message"] = self.message
        out.update(_alerts_dict(self.alerts, self.alerts_error))
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncResult:
    """One sync or reconciliation (see :func:`loadmon.service.strava.sync.sync`). ``counts``
    include the requests of a continued backfill."""

    athlete: str
    counts: RunCounts
    window_start: datetime  # the reconciliation covers from here
    listed_from: datetime  # the listing started here
    complete: bool  # the listing was read to its end (only then is anything marked deleted)
    backfill: BackfillResult | None = None  # an unfinished backfill continued after the sync
    backfill_error: str | None = None  # why continuing it failed (it resumes next time)
    alerts: dict[str, Any] | None = None
    alerts_error: str | None = None

    @property
    def changed(self) -> bool:
        """Something was stored, updated or deleted (by the sync or the backfill it continued)."""
        bf = self.backfill
        return self.counts.changed or bool(bf is not None and (bf.counts.new or bf.counts.updated))

    def to_dict(self) -> dict[str, Any]:
        out = self.counts.to_dict()
        out.update({"athlete": self.athlete, "window_start": iso(self.window_start),
                    "listed_from": iso(self.listed_from), "complete": self.complete})
        if self.backfill is not None:
            out["backfill"] = self.backfill.to_dict()
        elif self.backfill_error is not None:
            out["backfill"] = {"error": self.backfill_error}
        out.update(_alerts_dict(self.alerts, self.alerts_error))
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class StravaLink:
    """The connection part of :class:`StravaStatus` (never a token)."""

    strava_athlete_id: int
    scope: str | None
    needs_reauth: bool
    token_expires_at: datetime
    token_expired: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class StravaStatus:
    """`loadmon strava status`: connection, backfill position, last sync, request budget."""

    athlete: str
    credentials_configured: bool
    api_url: str
    link: StravaLink | None  # None: not connected
    backfill: dict[str, Any] | None  # the stored backfill state (cursor, done, listed, requests, resume_at, ...)
    last_sync: dict[str, Any] | None  # {"at", "counts"} of the last sync
    budget: tuple[BudgetStatus, ...] = field(default=())

    @property
    def connected(self) -> bool:
        return self.link is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"athlete": self.athlete, "connected": self.connected,
                               "credentials_configured": self.credentials_configured, "api_url": self.api_url}
        if self.link is not None:
            out.update({"strava_athlete_id": self.link.strava_athlete_id, "scope": self.link.scope,
                        "needs_reauth": self.link.needs_reauth, "token_expires_at": iso(self.link.token_expires_at),
                        "token_expired": self.link.token_expired})
        out["backfill"] = self.backfill
        out["last_sync"] = self.last_sync
        out["budget"] = [{"kind": s.kind, "window_start": iso(s.window_start), "window_used": s.window_used,
                          "window_limit": s.window_limit, "day": s.day, "day_used": s.day_used,
                          "day_limit": s.day_limit, "margin": s.margin} for s in self.budget]
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class DisconnectResult:
    athlete: str
    was_connected: bool
    deauthorized: bool  # Strava confirmed the revocation
    remote_error: str | None  # why it did not (the tokens were deleted here all the same)

    def to_dict(self) -> dict[str, Any]:
        return {"athlete": self.athlete, "was_connected": self.was_connected, "deauthorized": self.deauthorized,
                "remote_error": self.remote_error}
