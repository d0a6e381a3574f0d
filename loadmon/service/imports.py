"""Importing FIT files (files, folders, zip archives, .fit.gz): one transaction per file."""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from connectors.exports import StravaExportEntry, strava_external_id
from connectors.fit.files import FitInput, InputLimits, iter_fit_inputs
from loadmon.config import Config
from loadmon.domain import ActivityRecord, Athlete
from loadmon.errors import LoadmonError
from loadmon.logs import get_logger
from loadmon.service.context import Service
from loadmon.service.import_pool import (
    IN_FLIGHT_PER_WORKER,
    MIN_FILES_PER_WORKER,
    Decoded,
    DecodeJob,
    DecodePool,
    decode,
    failure_of,
    resolve_workers,
    within,
)
from loadmon.sports import normalise_strava_sport

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class FileResult:
    name: str
    outcome: str  # imported | duplicate | skipped | failed
    activities: int = 0
    replaced: int = 0  # stored activities replaced by this better copy of them
    reason: str | None = None
    transient: bool = False  # failed for the database's sake (StorageError), not the file's: worth a retry
    notices: tuple[str, ...] = ()  # values dropped as implausible, a truncated file imported in part
    activity_ids: tuple[int, ...] = ()  # the stored activities of this file (new, replaced or already there)


@dataclass(kw_only=True)
class ImportSummary:
    files: list[FileResult] = field(default_factory=list)
    athlete_ids: set[int] = field(default_factory=set)
    activity_ids: list[int] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.outcome == "failed"]

    @property
    def new_activities(self) -> int:
        return sum(f.activities for f in self.files if f.outcome == "imported")

    def as_dict(self) -> dict:
        return {
            "imported": self.count("imported"), "duplicate": self.count("duplicate"), "skipped": self.count("skipped"),
            "not_activities": self.count(NOT_ACTIVITY),
            "failed": self.count("failed"), "new_activities": self.new_activities,
            "replaced_activities": sum(f.replaced for f in self.files),
            "failures": [{"file": f.name, "reason": f.reason} for f in self.failed],
            "skips": [{"file": f.name, "reason": f.reason} for f in self.files if f.outcome == "skipped"],
            "notices": [{"file": f.name, "notice": n} for f in self.files for n in f.notices],
        }


#: The outcome of a valid FIT file that is not an activity (a Garmin export's monitoring, sleep, settings
#: files): reported as a count, never listed one by one nor as a failure.
NOT_ACTIVITY = "not_activity"


def described(record: ActivityRecord, *, activity_type: str | None, name: str | None, external_id: str) -> ActivityRecord:
    """``record`` as the hub it came from describes it (a Strava export's activities.csv, intervals.icu): the
    hub's sport when it names one (Strava-style types: "Run", "Trail Run", "Ride"), its name, and its id as
    ``external_id``, so the same run reached another way is recognised."""
    sport = normalise_strava_sport(activity_type.replace(" ", "")) if activity_type else record.sport
    return replace(record, sport=sport if sport != "generic" else record.sport, name=name or record.name,
                   external_id=external_id)


def with_export(record: ActivityRecord, entry: StravaExportEntry) -> ActivityRecord:
    """``record`` as the Strava export describes it: Strava's sport and name, and its activity id as
    ``external_id`` (``strava:<id>``), so the same run synced from the API is this one."""
    return described(record, activity_type=entry.activity_type, name=entry.name,
                     external_id=strava_external_id(entry.activity_id))


def input_limits(config: Config) -> InputLimits:
    fit = config.fit
    return InputLimits(max_file_mb=fit.max_file_mb, max_archive_total_mb=fit.max_archive_total_mb,
                       max_archive_depth=fit.max_archive_depth)


def count_inputs(paths: Sequence[Path], config: Config | None = None) -> int:
    return sum(1 for _ in iter_fit_inputs(paths, input_limits(config) if config else None))


def import_paths(service: Service, athlete: Athlete, paths: Sequence[Path], *,
                 on_file: Callable[[FileResult], None] | None = None, allow_truncated: bool = False,
                 label: Callable[[str], str] | None = None, workers: int | None = None) -> ImportSummary:
    """Import every FIT, GPX and TCX file under ``paths``. One bad file never stops the others; each file is
    its own transaction, so a kill mid-batch leaves no partial activity and a rerun finishes.

    ``allow_truncated``: a FIT file whose end is missing is imported in part (its activities
    marked ``truncated``, the import log's note says so) instead of failing. ``label``: the name a
    file is reported and logged by, from its name under ``paths`` (the web upload: the uploaded
    file's own name, not its temporary path). ``workers``: decoding processes (default ``[fit] workers``;
    0 = the number of CPUs, 1 = none). With more than one, files are decoded in a process pool
    (:mod:`loadmon.service.import_pool`) once an import has enough of them, and this process stores
    them one transaction each in the order of ``paths``: the summary, the import log and the stored
    activities are those of the one-process import."""
    summary = ImportSummary()
    pipeline = _Pipeline(service, athlete, summary, on_file,
                         resolve_workers(service.config.fit.workers if workers is None else workers))
    hysteresis = service.config.fit.hysteresis_m
    try:
        for item in iter_fit_inputs(paths, input_limits(service.config)):
            name = label(item.name) if label is not None else item.name
            pipeline.add(_prepare(service, athlete, pipeline, item, name, hysteresis=hysteresis,
                                  allow_truncated=allow_truncated))
        pipeline.drain(final=True)
    finally:
        pipeline.close()
    return summary


@dataclass(slots=True)
class _Entry:
    """One input between reading and storing. Exactly one of ``result`` (nothing to store), ``failure`` (a read
    failure, logged when stored) and ``job`` (to decode and store) is set."""

    name: str
    result: FileResult | None = None
    failure: tuple[str, bool] | None = None
    job: DecodeJob | None = None
    digest: str = ""
    recheck: bool = False  # a copy of a file still waiting to be stored: duplicate or not is known only then
    future: Future[Decoded] | None = None
    export: StravaExportEntry | None = None  # its row in a Strava export's activities.csv
    notices: tuple[str, ...] = ()  # about the export it came from


def _prepare(service: Service, athlete: Athlete, pipeline: _Pipeline, item: FitInput, name: str, *,
             hysteresis: float, allow_truncated: bool) -> _Entry:
    """Read ``item`` (bytes, sha256, already imported?): the reading half of the one-file import."""
    if item.skip_reason is not None:  # a folder or archive without activity files: reported, never read
        return _Entry(name, result=FileResult(name=name, outcome="skipped", reason=item.skip_reason))
    try:
        data = item.read()
        digest = hashlib.sha256(data).hexdigest()
        recheck = pipeline.pending[digest] > 0
        if not recheck and service.store.import_seen(athlete.id, digest):
            return _Entry(name, result=FileResult(name=name, outcome="duplicate"))
        job = DecodeJob(name=name, format=item.format, data=data, hysteresis_m=hysteresis,
                        allow_truncated=allow_truncated, now=service.clock())
        return _Entry(name, job=job, digest=digest, recheck=recheck, export=item.export, notices=item.notices)
    except LoadmonError as exc:
        return _Entry(name, failure=failure_of(exc, name))


class _Pipeline:
    """Stores entries in the order they were added; with ``workers`` > 1 decodes them in a :class:`DecodePool`.

    Up to ``MIN_FILES_PER_WORKER x workers`` files to decode are held back until it is clear the import is big
    enough for the pool; after that each one is handed to the pool when added, at most
    ``IN_FLIGHT_PER_WORKER x workers`` (or the held-back ones) unstored at a time."""

    def __init__(self, service: Service, athlete: Athlete, summary: ImportSummary,
                 on_file: Callable[[FileResult], None] | None, workers: int) -> None:
        self.service, self.athlete, self.summary, self.on_file = service, athlete, summary, on_file
        self.entries: deque[_Entry] = deque()
        self.pending: Counter[str] = Counter()  # digests of the entries to decode, not yet stored
        self.threshold = MIN_FILES_PER_WORKER * workers if workers > 1 else 0  # 0: no pool
        self.in_flight_limit = max(IN_FLIGHT_PER_WORKER * workers, self.threshold)
        self.max_entries = 4 * self.in_flight_limit  # duplicates and failures queued behind a file in flight
        self.pool: DecodePool | None = None
        self.held = 0  # files to decode held back while no pool is running
        self.in_flight = 0
        self.workers = workers

    def add(self, entry: _Entry) -> None:
        self.entries.append(entry)
        if entry.job is not None:
            self.pending[entry.digest] += 1
            if not entry.recheck and self.threshold:
                if self.pool is not None:
                    self._submit(entry)
                else:
                    self.held += 1
                    if self.held >= self.threshold:
                        self.pool = DecodePool(self.workers)
                        for waiting in self.entries:
                            if waiting.job is not None and not waiting.recheck:
                                self._submit(waiting)
        self.drain(final=False)

    def _submit(self, entry: _Entry) -> None:
        assert self.pool is not None and entry.job is not None
        entry.future = self.pool.submit(entry.job)
        self.in_flight += entry.future is not None

    def drain(self, *, final: bool) -> None:
        """Store the entries at the head that are ready (all of them when ``final``)."""
        while self.entries:
            head = self.entries[0]
            full = self.in_flight >= self.in_flight_limit or len(self.entries) >= self.max_entries
            if not final and not full and head.job is not None:
                if head.future is not None and not head.future.done():
                    break  # decoding in a worker: read the next files meanwhile
                if head.future is None and self.pool is None and self.threshold:
                    break  # held back until the import is known to be small (or big enough for the pool)
            self.entries.popleft()
            self._store(head)

    def _store(self, entry: _Entry) -> None:
        """The writing half of the one-file import: this file's transaction, in order."""
        summary, store, athlete, name = self.summary, self.service.store, self.athlete, entry.name
        decodes = entry.job is not None
        if decodes:
            self.in_flight -= entry.future is not None
            if self.pool is None and not entry.recheck:
                self.held -= 1
        try:
            if entry.result is not None:
                result = entry.result
            elif entry.failure is not None:
                raise _Failed(*entry.failure)
            elif entry.recheck and store.import_seen(athlete.id, entry.digest):
                result = FileResult(name=name, outcome="duplicate")
            else:
                assert entry.job is not None
                decoded = self._decode(entry)
                digest = entry.digest
                if decoded.failure is not None:
                    raise _Failed(decoded.failure, decoded.transient)
                parsed = decoded.parsed
                assert parsed is not None
                if parsed.skipped_reason:
                    store.record_import(athlete.id, path=name, content_hash=digest, records=(), outcome="skipped",
                                        error=parsed.skipped_reason)
                    kind = NOT_ACTIVITY if parsed.not_activity else "skipped"
                    result = FileResult(name=name, outcome=kind, reason=parsed.skipped_reason)
                else:
                    records = parsed.activities
                    if entry.export is not None:  # a Strava export's file: Strava's id, type and name
                        records = tuple(with_export(r, entry.export) for r in records)
                    notices = (*entry.notices, *parsed.notices)
                    outcome = store.record_import(athlete.id, path=name, content_hash=digest,
                                                  records=records, outcome="imported",
                                                  error="; ".join(notices) or None)
                    summary.activity_ids.extend(outcome.activity_ids)
                    result = FileResult(name=name, outcome=outcome.outcome, activities=outcome.new_activities,
                                        activity_ids=outcome.activity_ids,
                                        notices=tuple(within(n, name) for n in notices),
                                        replaced=outcome.replaced_activities)
                    if outcome.new_activities or outcome.replaced_activities:
                        summary.athlete_ids.add(athlete.id)
        except _Failed as failed:
            result = FileResult(name=name, outcome="failed", reason=failed.reason, transient=failed.transient)
            _log_failure(self.service, athlete, name, failed.reason)
        except LoadmonError as exc:
            reason, transient = failure_of(exc, name)
            result = FileResult(name=name, outcome="failed", reason=reason, transient=transient)
            _log_failure(self.service, athlete, name, reason)
        finally:
            if decodes:
                self.pending[entry.digest] -= 1
                if not self.pending[entry.digest]:
                    del self.pending[entry.digest]
        _finish(summary, result, self.on_file)

    def _decode(self, entry: _Entry) -> Decoded:
        assert entry.job is not None
        job, future = entry.job, entry.future
        entry.job = None  # the bytes are not needed any more
        if self.pool is None:
            return decode(job)
        return self.pool.result(future, job)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


class _Failed(Exception):
    """A file's failure known before its transaction (read or decode): logged and reported as the file's."""

    def __init__(self, reason: str, transient: bool) -> None:
        super().__init__(reason)
        self.reason, self.transient = reason, transient


def _finish(summary: ImportSummary, result: FileResult, on_file: Callable[[FileResult], None] | None) -> None:
    summary.files.append(result)
    log.debug("import.file", file=result.name, outcome=result.outcome, activities=result.activities, reason=result.reason)
    if on_file:
        on_file(result)


def _log_failure(service: Service, athlete: Athlete, name: str, problem: str) -> None:
    try:
        service.store.record_import(athlete.id, path=name, content_hash=None, records=(), outcome="failed", error=problem)
    except LoadmonError:  # the failure is still reported in the summary
        pass
