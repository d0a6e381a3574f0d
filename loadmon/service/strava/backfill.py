"""The resumable Strava backfill: pages of 200, oldest first, from the cursor stored in the sync
state ``strava_backfill``.

Each activity whose descent cost a streams request is stored right away, and each page's last
records are stored together with the page's cursor in ONE transaction
(``store.record_strava_page``): a process killed at any point loses at most the one request in
flight, and a rerun continues from the cursor without fetching stored activities again
(``known=``: stored with the same content hash). With ``wait=False`` a spent budget ends the
run cleanly with ``resume_at``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.strava import ActivityPage, StravaConnector
from loadmon.domain import Athlete
from loadmon.errors import RateLimitExhausted
from loadmon.service.context import Service
from loadmon.service.strava.budget import budget_eta, reserve_check
from loadmon.service.strava.common import (
    BACKFILL_KEY,
    PER_PAGE,
    PROGRESS_EVERY_S,
    SOURCE,
    format_resume,
    iso,
    log,
    parse_iso,
    sleep_of,
)
from loadmon.service.strava.credentials import open_connector
from loadmon.service.strava.fill import due_update, fill, load_due, plan
from loadmon.service.strava.pages import Tally, consume, evaluate_alerts
from loadmon.service.strava.records import BackfillResult


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillProgress:
    """Reported after each stored activity or page, and before each wait for the budget."""

    listed: int  # activities dealt with so far by this backfill (over all its runs)
    new: int
    updated: int
    unchanged: int
    errors: int
    pages: int  # in this run
    requests: int  # API requests in this run
    cursor: datetime | None  # newest start time read so far
    fraction: float | None  # share of the time span (first activity .. now) covered
    estimated_total: int | None  # activities, extrapolated from the time span covered
    eta_s: float | None  # seconds to the end, within the request budget
    waiting_until: datetime | None = None  # set while sleeping for the next rate-limit window


def _since_datetime(since: date | None, athlete: Athlete) -> datetime | None:
    if since is None:
        return None
    return datetime.combine(since, datetime.min.time(), tzinfo=ZoneInfo(athlete.timezone)).astimezone(UTC)


class _BackfillRun:
    """One run of the backfill of one athlete. Its state is its fields: ``base`` the stored
    state it started from, ``latest`` the state stored last (None before the first page),
    ``tally`` the counts of this run, ``conn`` the connector while it runs (progress reports
    read its request count and the budget)."""

    def __init__(self, svc: Service, athlete: Athlete, *, since: date | None,
                 progress: Callable[[BackfillProgress], None] | None) -> None:
        self.svc = svc
        self.athlete = athlete
        self.progress = progress
        self.started = svc.clock()
        since_dt = _since_datetime(since, athlete)
        state = svc.store.get_state(athlete.id, BACKFILL_KEY)
        if state is None or (since_dt is not None and state.get("since") != iso(since_dt)):
            state = {"since": iso(since_dt), "cursor": None, "first_start": iso(since_dt), "done": False, "listed": 0,
                     "errors": 0, "requests": 0, "started_at": iso(self.started)}
        self.base: dict[str, Any] = state
        self.cursor = parse_iso(state.get("cursor"))
        self.latest: dict[str, Any] | None = None
        self.tally = Tally()
        self.hashes = svc.store.source_hashes(athlete.id, SOURCE)
        self.conn: StravaConnector | None = None
        self.reported = 0.0  # time.monotonic() of the last progress report
        self.filled = 0  # descents read from the streams after the listing (the last 42 days, point-to-point)
        self._base_sleep = sleep_of(svc)

    @property
    def state(self) -> dict[str, Any]:
        return self.latest or self.base

    def run(self, *, wait: bool, reserve: bool) -> tuple[bool, datetime | None, int, float]:
        """``(completed, resume_at, waits, waited_s)``; a spent budget is stored with ``resume_at``."""
        athlete, svc = self.athlete, self.svc
        resume_at: datetime | None = None
        completed = False
        after = self.cursor or parse_iso(self.base.get("since"))
        with open_connector(svc, athlete, wait=wait, sleep=self.sleep) as conn:
            log.info("strava.backfill.start", athlete_id=athlete.id, after=iso(after), wait=wait)
            self.conn = conn
            pages = conn.iter_activity_pages(after=after, per_page=PER_PAGE, with_descent=False,
                                             known=lambda r: self.hashes.get(r.source_id) == r.content_hash)
            due = load_due(svc, athlete)
            try:
                completed = consume(svc, athlete, conn, pages, self.tally, hashes=self.hashes, state_key=BACKFILL_KEY,
                                    state=self.base if self.cursor is not None else None, next_state=self.next_state,
                                    on_change=self.report, on_page=self.page_done,
                                    pause=reserve_check(svc, conn.budget) if reserve else None,
                                    plan=lambda page: plan(svc, athlete, conn, page.records, defer=svc.config.strava.defer_streams),
                                    due_state=lambda records: due_update(due, records))
                if completed and self.state.get("done"):
                    # the listing is read: now the streams of the runs today's load depends on, newest first
                    filled = fill(svc, athlete, priority_only=True, reserve=reserve, conn=conn, alerts=False)
                    self.filled = filled.filled
                    self.tally.requests = conn.requests_made
                    resume_at = filled.resume_at
            except RateLimitExhausted as exc:
                resume_at = exc.resume_at
                value = dict(self.state)
                value.update(self.cumulative())
                value.update({"resume_at": iso(resume_at), "done": False, "updated_at": iso(svc.clock())})
                svc.store.set_state(athlete.id, BACKFILL_KEY, value)
                self.latest = value
                log.info("strava.backfill.paused", athlete_id=athlete.id, resume_at=iso(resume_at),
                         **self.tally.to_dict())
            return completed, resume_at, conn.budget.waits, conn.budget.waited_s

    def cumulative(self) -> dict[str, Any]:
        """The counts over all runs (stored with the state)."""
        base, tally = self.base, self.tally
        requests_now = self.conn.requests_made if self.conn is not None else tally.requests
        return {"listed": int(base.get("listed", 0)) + tally.listed_done,
                "errors": int(base.get("errors", 0)) + len(tally.error_messages),
                "requests": int(base.get("requests", 0)) + requests_now}

    def page_state(self, page: ActivityPage, current: dict[str, Any] | None) -> dict[str, Any]:
        value = dict(current or self.base)
        first = parse_iso(value.get("first_start"))
        starts = [r.start_time for r in page.records]
        if first is None:
            first = min(starts) if starts else page.cursor
        value.update({"cursor": iso(page.cursor) if page.cursor else value.get("cursor"), "first_start": iso(first),
                      "done": page.done, "resume_at": None, "updated_at": iso(self.svc.clock())})
        return value

    def next_state(self, page: ActivityPage, current: dict[str, Any] | None) -> dict[str, Any]:
        value = self.page_state(page, current)
        value.update(self.cumulative())
        self.latest = value
        return value

    def snapshot(self, waiting_until: datetime | None = None) -> BackfillProgress:
        conn, tally, base = self.conn, self.tally, self.base
        requests_now = conn.requests_made if conn is not None else 0
        value = self.state
        listed = int(base.get("listed", 0)) + tally.progressed
        cur = parse_iso(value.get("cursor"))
        first = parse_iso(value.get("first_start"))
        clock_now = self.svc.clock()
        fraction = estimated = eta = None
        if value.get("done"):
            fraction, estimated, eta = 1.0, listed, 0.0
        elif cur is not None and first is not None and clock_now > first:
            fraction = min(1.0, max(0.0, (cur - first).total_seconds() / (clock_now - first).total_seconds()))
            if fraction > 0 and listed:
                estimated = max(listed, round(listed / fraction))
                all_requests = int(base.get("requests", 0)) + requests_now
                per_activity = all_requests / listed if listed else 1.0
                left_acts = estimated - listed
                left_requests = left_acts * per_activity + math.ceil(left_acts / PER_PAGE)
                elapsed = (clock_now - self.started).total_seconds() - (conn.budget.waited_s if conn else 0.0)
                spr = max(0.0, elapsed / requests_now) if requests_now else 0.0
                if conn is not None:
                    eta = budget_eta(left_requests, conn.budget, clock_now, seconds_per_request=spr)
        return BackfillProgress(listed=listed, new=tally.new, updated=tally.updated, unchanged=tally.unchanged,
                                errors=len(tally.error_messages), pages=tally.pages, requests=requests_now, cursor=cur,
                                fraction=fraction, estimated_total=estimated, eta_s=eta, waiting_until=waiting_until)

    def report(self) -> None:
        """After each stored activity: at most every PROGRESS_EVERY_S (it reads the budget)."""
        if self.progress is not None and time.monotonic() - self.reported >= PROGRESS_EVERY_S:
            self.reported = time.monotonic()
            self.progress(self.snapshot())

    def page_done(self, page: ActivityPage) -> None:
        if self.progress is not None:
            self.reported = time.monotonic()
            self.progress(self.snapshot())

    def sleep(self, seconds: float) -> None:
        if self.progress is not None and seconds >= 1:
            self.progress(self.snapshot(waiting_until=self.svc.clock() + timedelta(seconds=seconds)))
        self._base_sleep(seconds)


def backfill(
    svc: Service,
    athlete: Athlete,
    *,
    since: date | None = None,
    wait: bool = True,
    progress: Callable[[BackfillProgress], None] | None = None,
    alerts: bool = True,
    reserve: bool = False,
) -> BackfillResult:
    """Read the athlete's Strava history (from ``since``, else all of it), oldest first; resumable.

    Continues from the stored cursor (``since`` differing from the stored one starts again
    from ``since``; activities already stored cost no streams request). With ``wait=False``
    a spent budget ends the run cleanly: ``done`` is False and ``resume_at`` says when to run
    again (nothing is raised). ``progress`` receives a :class:`BackfillProgress` after each
    page, at most every 0.2 s in between, and before each wait for the next window.
    ``reserve=True`` (a backfill continued by :func:`~loadmon.service.strava.sync.sync`) pauses
    while less than a fifth of the 15-minute window or of the day is left, so the other
    athletes' syncs still get requests.

    Returns a :class:`BackfillResult` (``to_dict()``: new, updated, unchanged, errors,
    error_messages, requests, pages, listed (this run), total_listed (all runs), done, stopped
    (stop flag), cursor, resume_at (+ message), waits, waited_s, and ``alerts`` when the rules
    ran: something was stored and ``alerts``).
    """
    run = _BackfillRun(svc, athlete, since=since, progress=progress)
    completed, resume_at, waits, waited_s = run.run(wait=wait, reserve=reserve)
    final, tally = run.state, run.tally
    result = BackfillResult(
        athlete=athlete.name, counts=tally.counts(), done=bool(completed and final.get("done")),
        stopped=not completed and resume_at is None, cursor=parse_iso(final.get("cursor")), resume_at=resume_at,
        message=f"Strava request budget spent: {format_resume(resume_at, svc.clock())}" if resume_at else None,
        waits=waits, waited_s=round(waited_s, 1), total_listed=int(final.get("listed", 0)))
    log.info("strava.backfill.end", athlete_id=athlete.id,
             **{k: v for k, v in result.to_dict().items() if k not in ("error_messages", "skipped")})
    if alerts and (tally.changed or run.filled):
        fired, error = evaluate_alerts(svc, athlete)
        result = replace(result, alerts=fired, alerts_error=error)
    return result
