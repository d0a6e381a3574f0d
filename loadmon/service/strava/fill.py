"""Fewer Strava requests: which activities get their streams, and when.

* A run that a stored file (FIT, GPX, TCX) already covers - the same run by the cross-source
  match of :mod:`loadmon.storage.duplicates` - never costs a streams request: the file's descent
  counts (:func:`file_covered`, the decision handed to the connector as ``COVERED_BY_FIT``).
* The backfill lists without streams: each foot activity is stored with its summary gain as the
  descent (``estimated``, noted ``streams deferred``) and joins the *due* list (the sync state
  :data:`DUE_KEY`). Then the runs that the current load and alerts depend on - the last
  :data:`RECENT_DAYS` days and the point-to-point runs (start and end more than
  :data:`POINT_TO_POINT_M` apart, whose descent the gain does not approximate) - get their
  streams at once, newest first (``priority_only``).
* The older loops wait for :func:`fill`, the background job ``strava_fill``: newest first, and only
  while the request budget has more left than a sync needs (the reserve of
  :func:`~loadmon.service.strava.budget.reserve_check`); it never waits for a window. A run whose
  file arrived meanwhile is dropped from the list without a request. The rules run again after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from connectors.strava import DescentNote, StravaConnector, estimated_descent
from loadmon.domain import ActivityRecord, Athlete, ElevationSource
from loadmon.errors import ConnectorError, RateLimitExhausted, StravaAuthError, StravaError
from loadmon.service.context import Service
from loadmon.service.strava.budget import reserve_check
from loadmon.service.strava.common import DUE_KEY, SOURCE, iso, log, parse_iso, stop_requested
from loadmon.service.strava.credentials import open_connector
from loadmon.storage.duplicates import DUPLICATE_START_S, same_distance, same_file

RECENT_DAYS = 42  # the chronic load's window: these runs' descents count today
POINT_TO_POINT_M = 1_000.0  # start and end further apart than this: a point-to-point run


class _Run(Protocol):
    @property
    def start_time(self) -> datetime: ...
    @property
    def distance_m(self) -> float | None: ...
    @property
    def external_id(self) -> str | None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class DueStream:
    """A stored Strava activity whose descent is the summary's gain until its streams are read."""

    source_id: int
    start: datetime
    gain_m: float | None
    p2p: bool

    def priority(self, now: datetime) -> bool:
        """Needed for the current load (the last 42 days) or not approximated by its gain."""
        return self.p2p or self.start >= now - timedelta(days=RECENT_DAYS)


@dataclass(frozen=True, kw_only=True, slots=True)
class FillResult:
    """One run of :func:`fill`."""

    filled: int  # descents now computed from the streams
    covered: int  # dropped without a request: a file has the same run
    estimated: int  # streams read but unusable (404, no altitude): the estimate stays
    left: int  # still due
    priority_left: int  # of which for the last 42 days or point-to-point
    requests: int
    resume_at: datetime | None  # the budget's reserve stopped it: run again then
    alerts: dict[str, Any] | None = None
    alerts_error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.filled)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filled": self.filled,
            "covered": self.covered,
            "estimated": self.estimated,
            "left": self.left,
            "priority_left": self.priority_left,
            "requests": self.requests,
            "resume_at": iso(self.resume_at),
        }
        if self.alerts is not None:
            out["alerts"] = self.alerts
        if self.alerts_error is not None:
            out["alerts_error"] = self.alerts_error
        return out


def is_point_to_point(rec: ActivityRecord) -> bool:
    apart = rec.extra.get("start_end_m")
    return isinstance(apart, (int, float)) and apart >= POINT_TO_POINT_M


def _covers(file_run: _Run, run: _Run) -> bool:
    gap = abs((file_run.start_time - run.start_time).total_seconds())
    if gap <= DUPLICATE_START_S and same_distance(file_run.distance_m, run.distance_m):
        return True
    return gap <= 86_400 and same_file(file_run.external_id, run.external_id)


def file_covered(svc: Service, athlete: Athlete, runs: Sequence[tuple[int, _Run]]) -> set[int]:
    """The ids of ``runs`` (``(strava id, run)``) that a stored file activity with an elevation
    covers: the cross-source match (start within 60 s and distance within 3 %, or the file
    named by Strava's ``external_id``). One read of the stored activities of the days concerned."""
    if not runs:
        return set()
    since = (min(r.start_time for _, r in runs) - timedelta(days=2)).date()
    until = (max(r.start_time for _, r in runs) + timedelta(days=2)).date()
    files = [
        a
        for a in svc.store.list_activities(athlete.id, since=since, until=until)
        if a.source != SOURCE and a.elevation_source is not ElevationSource.NONE
    ]
    if not files:
        return set()
    files.sort(key=lambda a: a.start_time)
    covered = set()
    for source_id, run in runs:
        if any(_covers(f, run) for f in files if abs((f.start_time - run.start_time).total_seconds()) <= 86_400):
            covered.add(source_id)
    return covered


def plan(
    svc: Service, athlete: Athlete, conn: StravaConnector, records: Sequence[ActivityRecord], *, defer: bool
) -> dict[int, DescentNote]:
    """Which records' streams NOT to read now, and why: the file-covered ones (always), and with
    ``defer`` (the backfill) every other one that would cost a streams request."""
    wanting = [r for r in records if conn.wants_streams(r)]
    covered = file_covered(svc, athlete, [(r.source_id, r) for r in wanting])
    out = {r.source_id: DescentNote.COVERED_BY_FIT for r in wanting if r.source_id in covered}
    if defer:
        out.update({r.source_id: DescentNote.DEFERRED for r in wanting if r.source_id not in covered})
    return out


def load_due(svc: Service, athlete: Athlete) -> dict[int, DueStream]:
    value = svc.store.get_state(athlete.id, DUE_KEY) or {}
    out = {}
    for key, entry in value.items():
        start = parse_iso(entry.get("start"))
        if start is not None:
            out[int(key)] = DueStream(source_id=int(key), start=start, gain_m=entry.get("gain"), p2p=bool(entry.get("p2p")))
    return out


def due_value(due: dict[int, DueStream]) -> dict[str, Any]:
    return {str(k): {"start": iso(d.start), "gain": d.gain_m, "p2p": d.p2p} for k, d in due.items()}


def due_update(due: dict[int, DueStream], records: Iterable[ActivityRecord]) -> dict[str, Any] | None:
    """``due`` after storing ``records`` (deferred ones join, the others leave); None: unchanged."""
    changed = False
    for rec in records:
        if DescentNote.of(rec.extra) is DescentNote.DEFERRED:
            due[rec.source_id] = DueStream(
                source_id=rec.source_id, start=rec.start_time, gain_m=rec.elevation_gain_m, p2p=is_point_to_point(rec)
            )
            changed = True
        elif due.pop(rec.source_id, None) is not None:
            changed = True
    return due_value(due) if changed else None


def _order(due: Iterable[DueStream], now: datetime) -> list[DueStream]:
    """Priority first (the last 42 days, point-to-point), newest first within each."""
    return sorted(due, key=lambda d: (not d.priority(now), -d.start.timestamp()))


def fill(
    svc: Service,
    athlete: Athlete,
    *,
    priority_only: bool = False,
    reserve: bool = True,
    conn: StravaConnector | None = None,
    alerts: bool = True,
) -> FillResult:
    """Read the streams of due activities, newest first (``priority_only``: the last 42 days
    and point-to-point runs only), never waiting for a window; with ``reserve`` it stops while
    less than a fifth of the window or day is left (the syncs' share). ``conn``: a connector
    already open (the backfill's); otherwise one is opened only when a request is due."""
    now = svc.clock()
    due = load_due(svc, athlete)
    todo = [d for d in _order(due.values(), now) if d.priority(now) or not priority_only]
    filled = covered_n = estimated = 0
    resume_at: datetime | None = None
    requests = 0
    if todo:
        runs = _stored_runs(svc, athlete, todo)
        covered = file_covered(svc, athlete, [(d.source_id, r) for d in todo if (r := runs.get(d.source_id))])
        gone = {d.source_id for d in todo if d.source_id not in runs}  # deleted meanwhile
        if covered or gone:
            for sid in covered | gone:
                due.pop(sid, None)
            svc.store.record_strava_descent(athlete.id, [], DUE_KEY, due_value(due))
            covered_n = len(covered)
        todo = [d for d in todo if d.source_id not in covered and d.source_id not in gone]
    if todo:
        opened: AbstractContextManager[StravaConnector] = (
            nullcontext(conn) if conn is not None else open_connector(svc, athlete, wait=False)
        )
        with opened as c:
            before = c.requests_made
            pause = reserve_check(svc, c.budget) if reserve else None
            try:
                for d in todo:
                    if stop_requested(svc):
                        break
                    if pause is not None:
                        pause()
                    rec = _descent_record(c, d)
                    if rec.elevation_source is ElevationSource.COMPUTED:
                        filled += 1
                    else:
                        estimated += 1
                    if DescentNote.of(rec.extra) is not DescentNote.STREAMS_FAILED:
                        due.pop(d.source_id, None)
                    svc.store.record_strava_descent(athlete.id, [(d.source_id, rec)], DUE_KEY, due_value(due))
            except RateLimitExhausted as exc:
                resume_at = exc.resume_at
            except StravaAuthError:
                raise
            except ConnectorError as exc:  # an outage: the rest waits for the next run
                log.warning("strava.fill.stopped", athlete_id=athlete.id, error=str(exc))
            finally:
                requests = c.requests_made - before
    result = FillResult(
        filled=filled,
        covered=covered_n,
        estimated=estimated,
        left=len(due),
        priority_left=sum(1 for d in due.values() if d.priority(now)),
        requests=requests,
        resume_at=resume_at,
    )
    if filled or covered_n or requests:
        log.info(
            "strava.fill",
            athlete_id=athlete.id,
            priority_only=priority_only,
            **{k: v for k, v in result.to_dict().items() if k != "alerts"},
        )
    if alerts and result.changed:
        from loadmon.service.strava.pages import evaluate_alerts

        fired, error = evaluate_alerts(svc, athlete)
        result = replace(result, alerts=fired, alerts_error=error)
    return result


def _stored_runs(svc: Service, athlete: Athlete, todo: Sequence[DueStream]) -> dict[int, _Run]:
    since = (min(d.start for d in todo) - timedelta(days=1)).date()
    until = (max(d.start for d in todo) + timedelta(days=1)).date()
    wanted = {d.source_id for d in todo}
    return {
        a.source_id: a
        for a in svc.store.list_activities(athlete.id, since=since, until=until)
        if a.source == SOURCE and a.source_id in wanted
    }


def _descent_record(conn: StravaConnector, d: DueStream) -> ActivityRecord:
    """The descent of one due activity as a record (only its elevation fields are stored)."""
    try:
        desc = conn.fetch_descent(d.source_id, total_elevation_gain_m=d.gain_m)
    except (StravaAuthError, RateLimitExhausted):
        raise
    except StravaError:  # refused (4xx): the estimate stays
        desc = estimated_descent(d.gain_m, note=DescentNote.STREAMS_REFUSED)
    extra = {"descent_note": desc.note.value} if desc.note is not None else {}
    return ActivityRecord(
        source=SOURCE,
        source_id=d.source_id,
        sport="running",
        start_time=d.start,
        elevation_gain_m=d.gain_m,
        elevation_loss_m=desc.loss_m,
        elevation_source=desc.source,
        steep_descent_m=desc.steep_loss_m,
        profile=desc.profile,
        extra=extra,
    )


__all__ = [
    "DUE_KEY",
    "POINT_TO_POINT_M",
    "RECENT_DAYS",
    "DueStream",
    "FillResult",
    "due_update",
    "file_covered",
    "fill",
    "is_point_to_point",
    "load_due",
    "plan",
]
