"""The incremental Strava sync and the reconciliation of recent days.

:func:`sync` lists after the newest stored start minus ``overlap_hours``, together with the
reconciliation of the last ``reconcile_days``: stored activities that Strava no longer lists
are marked deleted, edited ones (sport, distance, privacy, name...) are updated, and activities
started less than 48 h ago have their streams read again (at most every 12 h) so a later
elevation correction is picked up. An unfinished backfill is continued afterwards, leaving a
fifth of each window and day to the syncs of the other athletes. When something changed, the
alert rules are evaluated and due alerts delivered. :func:`reconcile` is the nightly part alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from connectors.strava import DescentNote
from loadmon.domain import ActivityRecord, Athlete
from loadmon.errors import LoadmonError, RateLimitExhausted, StravaAuthError, ValidationError
from loadmon.service.context import Service
from loadmon.service.strava.backfill import backfill
from loadmon.service.strava.common import (
    BACKFILL_KEY,
    FRESH_HOURS,
    LAST_SYNC_KEY,
    PER_PAGE,
    RECHECK_EVERY_HOURS,
    RECHECK_KEY,
    SOURCE,
    iso,
    log,
    parse_iso,
    stop_requested,
)
from loadmon.service.strava.credentials import open_connector
from loadmon.service.strava.fill import due_update, fill, load_due, plan
from loadmon.service.strava.pages import Tally, consume, evaluate_alerts
from loadmon.service.strava.records import SyncResult


def sync(svc: Service, athlete: Athlete, *, wait: bool = False, alerts: bool = True) -> SyncResult:
    """Incremental sync plus reconciliation of the last ``[strava] reconcile_days``.

    Lists from ``min(newest stored start - overlap_hours, now - reconcile_days)`` and stores new
    and edited activities; marks deleted what Strava no longer lists in the reconcile window;
    re-reads the streams of activities younger than 48 h (elevation corrections). An unfinished
    backfill then continues (never waiting, and leaving a fifth of each window and day to the
    other athletes' syncs). When something changed, the alert rules run
    (:func:`loadmon.service.after_store.after_change`). The stop flag
    (``svc.stop``) is checked between pages; an interrupted listing marks nothing deleted.

    Returns a :class:`SyncResult`: the counts (new, updated, deleted, unchanged, errors with
    error_messages naming each activity, requests, rechecked, pages, listed); ``backfill`` when
    one was continued; ``alerts`` when the rules ran.
    Raises :class:`RateLimitExhausted` (its ``counts``: what was done before) when the budget is spent and
    ``wait`` is False; :class:`StravaAuthError` when access was revoked (connection marked).
    """
    now = svc.clock()
    cfg = svc.config.strava
    window_start = now - timedelta(days=cfg.reconcile_days)
    backfill_state = svc.store.get_state(athlete.id, BACKFILL_KEY)
    backfilling = backfill_state is not None and not backfill_state.get("done")
    after = window_start
    newest = svc.store.newest_start(athlete.id, SOURCE)
    if newest is not None and not backfilling:  # an unfinished backfill covers the older part itself
        after = min(window_start, newest - timedelta(hours=cfg.overlap_hours))
    out = _list_and_reconcile(svc, athlete, after=after, reconcile_from=window_start, wait=wait, job="sync")
    if backfilling and not stop_requested(svc):
        try:
            bf = backfill(svc, athlete, wait=False, alerts=False, reserve=True)
        except StravaAuthError:
            raise
        except LoadmonError as exc:  # the sync itself is done; the backfill resumes next time
            out = replace(out, backfill_error=str(exc))
        else:
            counts = replace(out.counts, requests=out.counts.requests + bf.counts.requests)
            out = replace(out, backfill=bf, counts=counts)
    elif not stop_requested(svc):
        out = _priority_fill(svc, athlete, out)
    return _finish(svc, athlete, out, alerts=alerts)


def _priority_fill(svc: Service, athlete: Athlete, out: SyncResult) -> SyncResult:
    """The streams still due for the last 42 days and point-to-point runs (a backfill that ran out
    of budget after its listing): read now, leaving the other athletes' syncs their reserve."""
    try:
        filled = fill(svc, athlete, priority_only=True, reserve=True, alerts=False)
    except StravaAuthError:
        raise
    except LoadmonError as exc:
        return replace(out, backfill_error=str(exc))
    if not filled.requests and not filled.covered:
        return out
    counts = replace(out.counts, requests=out.counts.requests + filled.requests, updated=out.counts.updated + filled.filled)
    return replace(out, counts=counts)


def reconcile(svc: Service, athlete: Athlete, *, days: int | None = None, alerts: bool = True) -> SyncResult:
    """The nightly reconciliation alone: list the last ``days`` (default ``reconcile_days``),
    store new and edited activities, mark deleted what Strava no longer lists. Same counts as
    :func:`sync`."""
    days = svc.config.strava.reconcile_days if days is None else days
    if days < 1:
        raise ValidationError(f"reconcile days must be at least 1, got {days}")
    start = svc.clock() - timedelta(days=days)
    out = _list_and_reconcile(svc, athlete, after=start, reconcile_from=start, wait=False, job="reconcile")
    return _finish(svc, athlete, out, alerts=alerts)


def _list_and_reconcile(svc: Service, athlete: Athlete, *, after: datetime, reconcile_from: datetime, wait: bool,
                        job: str) -> SyncResult:
    now = svc.clock()
    fresh_after = now - timedelta(hours=FRESH_HOURS)
    recheck_every = timedelta(hours=RECHECK_EVERY_HOURS)
    hashes = svc.store.source_hashes(athlete.id, SOURCE, since=after - timedelta(days=1))
    checked = {int(k): t for k, v in (svc.store.get_state(athlete.id, RECHECK_KEY) or {}).items()
               if (t := parse_iso(v)) is not None}
    rechecking: set[int] = set()

    def known(rec: ActivityRecord) -> bool:
        if hashes.get(rec.source_id) != rec.content_hash:
            return False
        if rec.start_time >= fresh_after:
            last = checked.get(rec.source_id)
            if last is None or now - last >= recheck_every:
                rechecking.add(rec.source_id)
                return False  # fresh: read its streams again (Strava may have corrected the elevation)
        return True

    def recheck_state(records: list[ActivityRecord]) -> dict[str, Any] | None:
        fresh = [r.source_id for r in records if _read_for_good(r, fresh_after)]
        if not fresh:
            return None
        checked.update(dict.fromkeys(fresh, now))
        return _recheck_value(checked, fresh_after)

    tally = Tally()
    seen: set[int] = set()
    with open_connector(svc, athlete, wait=wait) as conn:
        pages = conn.iter_activity_pages(after=after, per_page=PER_PAGE, with_descent=False, known=known)
        try:
            due = load_due(svc, athlete)
            completed = consume(svc, athlete, conn, pages, tally, hashes=hashes, seen=seen,
                                 recheck_state=recheck_state,
                                 plan=lambda page: plan(svc, athlete, conn, page.records, defer=False),
                                 due_state=lambda records: due_update(due, records) if due else None)
        except RateLimitExhausted as exc:
            _prune_rechecks(svc, athlete, checked, fresh_after)
            counts = tally.to_dict()
            log.info(f"strava.{job}.paused", athlete_id=athlete.id, resume_at=iso(exc.resume_at),
                     **{k: v for k, v in counts.items() if k not in ("error_messages", "skipped")})
            raise exc.with_counts(counts) from None
    tally.rechecked = len(rechecking)
    if completed:
        stored = svc.store.source_ids_between(athlete.id, SOURCE, reconcile_from, now + timedelta(days=1))
        gone = sorted(stored - seen)
        if gone:
            tally.deleted = svc.store.mark_deleted(athlete.id, SOURCE, gone)
            log.info("strava.deleted", athlete_id=athlete.id, activity_ids=gone)
    _prune_rechecks(svc, athlete, checked, fresh_after)
    return SyncResult(athlete=athlete.name, counts=tally.counts(), window_start=reconcile_from, listed_from=after,
                      complete=completed)


def _prune_rechecks(svc: Service, athlete: Athlete, checked: dict[int, datetime], fresh_after: datetime) -> None:
    """Drop the re-read times too old to matter (new ones are stored with their activities)."""
    value = _recheck_value(checked, fresh_after)
    if len(value) != len(checked):
        svc.store.set_state(athlete.id, RECHECK_KEY, value)


def _read_for_good(rec: ActivityRecord, fresh_after: datetime) -> bool:
    """A fresh activity whose streams were read (or need no reading) until its next re-check;
    one that got the estimate because Strava answered 5xx is read again at the next sync."""
    note = DescentNote.of(rec.extra)
    return rec.start_time >= fresh_after and not (note is not None and note.retry)


def _recheck_value(checked: dict[int, datetime], fresh_after: datetime) -> dict[str, Any]:
    """The stored form of ``checked`` without the entries too old to matter."""
    oldest = fresh_after - timedelta(hours=RECHECK_EVERY_HOURS)
    return {str(k): iso(v) for k, v in checked.items() if v >= oldest}


def _finish(svc: Service, athlete: Athlete, out: SyncResult, *, alerts: bool) -> SyncResult:
    """Run the alert rules when something changed; store the counts as the last sync."""
    if alerts and out.changed:
        fired, error = evaluate_alerts(svc, athlete)
        out = replace(out, alerts=fired, alerts_error=error)
    left_out = ("error_messages", "skipped", "alerts", "backfill")
    summary = {k: v for k, v in out.to_dict().items() if k not in left_out}
    svc.store.set_state(athlete.id, LAST_SYNC_KEY, {"at": iso(svc.clock()), "counts": summary})
    log.info("strava.sync", athlete_id=athlete.id, **{k: v for k, v in summary.items() if k != "athlete"})
    return out

