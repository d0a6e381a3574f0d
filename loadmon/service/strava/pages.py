"""Storing what Strava lists, page by page: the counts of a run (:class:`Tally`), an
activity's descent (a refused streams request costs the estimate, not the sync), and
:func:`consume`, which stores each page's records together with its sync state in one
transaction. Then, when something changed, the alert rules (:func:`evaluate_alerts`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from connectors.strava import ActivityPage, DescentNote, StravaConnector, estimated_descent
from connectors.strava.mapping import activity_label
from loadmon.domain import ActivityRecord, Athlete
from loadmon.errors import LoadmonError, RateLimitExhausted, StravaAuthError, StravaError
from loadmon.service.context import Service
from loadmon.service.strava.common import DUE_KEY, RECHECK_KEY, log, stop_requested
from loadmon.service.strava.records import RunCounts, SkippedItem
from loadmon.service.strava.zone import adopt_zone


@dataclass
class Tally:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rechecked: int = 0
    listed: int = 0  # activities listed (pages read, finished or not)
    listed_done: int = 0  # activities on finished pages
    progressed: int = 0  # activities dealt with so far (for progress reports)
    pages: int = 0
    requests: int = 0
    error_messages: list[str] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)

    def skip(self, athlete: Athlete, activity_id: int | None, reason: str, message: str) -> None:
        """One activity skipped with a named error (counted; the CLI prints it, the daemon's job logs
        it as ``strava.activity.skipped``); the sync goes on past it."""
        self.error_messages.append(message)
        self.skipped.append(SkippedItem(activity_id=activity_id, reason=reason, error=message))

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.deleted)

    def counts(self) -> RunCounts:
        return RunCounts(new=self.new, updated=self.updated, deleted=self.deleted, unchanged=self.unchanged,
                         error_messages=tuple(self.error_messages), skipped=tuple(self.skipped),
                         requests=self.requests, pages=self.pages, listed=self.listed, rechecked=self.rechecked)

    def to_dict(self) -> dict[str, Any]:
        return self.counts().to_dict()


def with_descent(conn: StravaConnector, rec: ActivityRecord, tally: Tally, *, skip: DescentNote | None = None) -> ActivityRecord:
    """The record with its descent; a streams request Strava refuses (4xx) costs the estimate, not the sync.
    ``skip``: no streams request now (deferred, or a file covers the run)."""
    try:
        return conn.with_descent(rec, skip=skip)
    except (StravaAuthError, RateLimitExhausted):
        raise
    except StravaError as exc:
        label = activity_label({"id": rec.source_id, "name": rec.name})
        tally.error_messages.append(f"{label}: streams not read ({exc}); stored with the estimated descent")
        d = estimated_descent(rec.elevation_gain_m, note=DescentNote.STREAMS_REFUSED)
        return replace(rec, elevation_loss_m=d.loss_m, elevation_source=d.source,
                       extra={**rec.extra, "descent_note": DescentNote.STREAMS_REFUSED.value})


def consume(
    svc: Service,
    athlete: Athlete,
    conn: StravaConnector,
    pages: Iterator[ActivityPage],
    tally: Tally,
    *,
    hashes: dict[int, str],
    state_key: str | None = None,
    state: dict[str, Any] | None = None,
    next_state: Callable[[ActivityPage, dict[str, Any] | None], dict[str, Any]] | None = None,
    seen: set[int] | None = None,
    on_change: Callable[[], None] | None = None,
    on_page: Callable[[ActivityPage], None] | None = None,
    pause: Callable[[], None] | None = None,
    recheck_state: Callable[[list[ActivityRecord]], dict[str, Any] | None] | None = None,
    plan: Callable[[ActivityPage], dict[int, DescentNote]] | None = None,
    due_state: Callable[[list[ActivityRecord]], dict[str, Any] | None] | None = None,
) -> bool:
    """Store what ``pages`` bring. Returns True when the listing was read to its end.

    An activity whose descent cost a request is stored at once (with the current, unchanged
    state); the rest of a page is stored with the page's new state in one transaction.
    ``recheck_state(records)``: the re-read record (``RECHECK_KEY``) to store in the same
    transaction, so a sync killed after storing a fresh activity does not read its streams again.
    ``plan(page)``: the records whose streams are not read now (:func:`loadmon.service.strava.fill.plan`);
    ``due_state(records)``: the streams-due list (``DUE_KEY``) to store in the same transaction.
    """
    buffer: list[ActivityRecord] = []
    current = state

    def flush(value: dict[str, Any] | None) -> None:
        nonlocal buffer
        if not buffer and (state_key is None or value is None):
            return
        rechecks = recheck_state(buffer) if recheck_state is not None else None
        more = {RECHECK_KEY: rechecks} if rechecks is not None else {}
        due = due_state(buffer) if due_state is not None else None
        if due is not None:
            more[DUE_KEY] = due
        results = svc.store.record_strava_page(athlete.id, buffer, state_key, value, more_state=more or None)
        for rec, res in zip(buffer, results, strict=True):
            if res.error is not None:
                label = activity_label({"id": rec.source_id, "name": rec.name})
                tally.skip(athlete, rec.source_id, "StorageError", f"{label}: not stored, the database refused it "
                                                                   f"({res.error})")
                continue
            if res.created:
                tally.new += 1
            elif res.changed:
                tally.updated += 1
            else:
                tally.unchanged += 1
            hashes[rec.source_id] = rec.content_hash
        buffer = []
        if on_change is not None:
            on_change()

    try:
        for page in pages:
            athlete = adopt_zone(svc, athlete, page.records)  # a zone never set: the activities' own
            for err in page.errors:
                tally.skip(athlete, err.activity_id, err.reason, err.message)
            tally.unchanged += len(page.unchanged_ids)
            tally.listed += len(page.records) + len(page.unchanged_ids) + len(page.errors)
            tally.progressed += len(page.unchanged_ids) + len(page.errors)
            if seen is not None:
                seen |= page.seen_ids
            skips = plan(page) if plan is not None and page.records else {}
            for rec in page.records:
                skip = skips.get(rec.source_id)
                if pause is not None and skip is None:
                    pause()  # may raise RateLimitExhausted: what is buffered is stored below
                before = conn.requests_made
                buffer.append(with_descent(conn, rec, tally, skip=skip))
                tally.progressed += 1
                if conn.requests_made > before:
                    flush(current)  # a request was spent on it: never spend it twice
            tally.pages += 1
            tally.listed_done += len(page.records) + len(page.unchanged_ids) + len(page.errors)
            current = next_state(page, current) if next_state is not None else current
            flush(current)
            if on_page is not None:
                on_page(page)
            if not page.done and stop_requested(svc):
                log.info("strava.stopping", athlete_id=athlete.id, pages=tally.pages)
                return False
            if not page.done and pause is not None:
                pause()
        return True
    except BaseException:
        if buffer:
            try:
                flush(current)  # what was read and paid for is kept; the cursor stays behind it
            except LoadmonError:  # pragma: no cover - the original error matters more
                pass
        raise
    finally:
        tally.requests = conn.requests_made


def evaluate_alerts(svc: Service, athlete: Athlete) -> tuple[dict[str, Any] | None, str | None]:
    """Evaluate the alert rules for the athlete and deliver what is due (when alerting exists).
    ``(what the rules did, None)``, or ``(None, why they did not run)``."""
    from loadmon.service.after_store import after_change

    try:
        return after_change(svc, {athlete.id}).to_dict(), None
    except LoadmonError as exc:  # the activities are stored; say why the alerts did not run
        log.error("strava.alerts_failed", athlete_id=athlete.id, error=str(exc))
        return None, str(exc)

