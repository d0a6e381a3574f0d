"""Importing FIT files (files, folders, zip archives, .fit.gz): one transaction per file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from connectors.exports import StravaExportEntry, strava_external_id
from connectors.fit.files import InputLimits, iter_fit_inputs
from connectors.fit.reader import read_fit
from connectors.tracks import read_track
from loadmon.config import Config
from loadmon.domain import ActivityRecord, Athlete
from loadmon.errors import ImplausibleValueError, ImportFileError, LoadmonError, StorageError
from loadmon.logs import get_logger
from loadmon.service.context import Service
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


def with_export(record: ActivityRecord, entry: StravaExportEntry) -> ActivityRecord:
    """``record`` as the Strava export describes it: Strava's sport (when it names one) and name, and its
    activity id as ``external_id`` (``strava:<id>``), so the same run synced from the API is this one."""
    sport = normalise_strava_sport(entry.activity_type.replace(" ", "")) if entry.activity_type else record.sport
    return replace(record, sport=sport if sport != "generic" else record.sport, name=entry.name or record.name,
                   external_id=strava_external_id(entry.activity_id))

def input_limits(config: Config) -> InputLimits:
    fit = config.fit
    return InputLimits(max_file_mb=fit.max_file_mb, max_archive_total_mb=fit.max_archive_total_mb,
                       max_archive_depth=fit.max_archive_depth)


def count_inputs(paths: Sequence[Path], config: Config | None = None) -> int:
    return sum(1 for _ in iter_fit_inputs(paths, input_limits(config) if config else None))


def import_paths(service: Service, athlete: Athlete, paths: Sequence[Path], *,
                 on_file: Callable[[FileResult], None] | None = None, allow_truncated: bool = False,
                 label: Callable[[str], str] | None = None) -> ImportSummary:
    """Import every FIT, GPX and TCX file under ``paths``. One bad file never stops the others; each file is
    its own transaction, so a kill mid-batch leaves no partial activity and a rerun finishes.

    ``allow_truncated``: a FIT file whose end is missing is imported in part (its activities
    marked ``truncated``, the import log's note says so) instead of failing. ``label``: the name a
    file is reported and logged by, from its name under ``paths`` (the web upload: the uploaded
    file's own name, not its temporary path)."""
    summary = ImportSummary()
    store = service.store
    hysteresis = service.config.fit.hysteresis_m
    for item in iter_fit_inputs(paths, input_limits(service.config)):
        name = label(item.name) if label is not None else item.name
        if item.skip_reason is not None:  # a folder or archive without activity files: reported, never read
            result = FileResult(name=name, outcome="skipped", reason=item.skip_reason)
            _finish(summary, result, on_file)
            continue
        try:
            data = item.read()
            digest = hashlib.sha256(data).hexdigest()
            if store.import_seen(athlete.id, digest):
                result = FileResult(name=name, outcome="duplicate")
            else:
                if item.format == "fit":
                    parsed = read_fit(data, name=name, hysteresis_m=hysteresis, allow_truncated=allow_truncated,
                                      now=service.clock())
                else:  # gpx, tcx
                    parsed = read_track(data, name=name, kind=item.format, hysteresis_m=hysteresis, now=service.clock())
                if parsed.skipped_reason:
                    kind = NOT_ACTIVITY if parsed.not_activity else "skipped"
                    store.record_import(athlete.id, path=name, content_hash=digest, records=(), outcome="skipped",
                                        error=parsed.skipped_reason)
                    result = FileResult(name=name, outcome=kind, reason=parsed.skipped_reason)
                else:
                    records = parsed.activities
                    if item.export is not None:  # a Strava export's file: Strava's id, type and name
                        records = tuple(with_export(r, item.export) for r in records)
                    notices = (*item.notices, *parsed.notices)
                    outcome = store.record_import(athlete.id, path=name, content_hash=digest,
                                                  records=records, outcome="imported",
                                                  error="; ".join(notices) or None)
                    summary.activity_ids.extend(outcome.activity_ids)
                    result = FileResult(name=name, outcome=outcome.outcome, activities=outcome.new_activities,
                                        activity_ids=outcome.activity_ids,
                                        notices=tuple(_within(n, name) for n in notices),
                                        replaced=outcome.replaced_activities)
                    if outcome.new_activities or outcome.replaced_activities:
                        summary.athlete_ids.add(athlete.id)
        except (ImportFileError, ImplausibleValueError) as exc:
            problem = exc.problem if isinstance(exc, ImportFileError) else _implausible(exc, name)
            result = FileResult(name=name, outcome="failed", reason=problem)
            _log_failure(service, athlete, name, problem)
        except LoadmonError as exc:
            result = FileResult(name=name, outcome="failed", reason=str(exc), transient=isinstance(exc, StorageError))
            _log_failure(service, athlete, name, str(exc))
        _finish(summary, result, on_file)
    return summary


def _within(text: str, name: str) -> str:
    """``text`` without a leading file ``name`` (the summary lists it next to the file already)."""
    return text[len(name):].lstrip(": ") if text.startswith(name) else text


def _implausible(exc: ImplausibleValueError, name: str) -> str:
    where = _within(exc.source, name)
    return f"{where + ': ' if where else ''}{exc.field} = {exc.value} is not plausible (allowed: {exc.allowed}); not imported"


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
