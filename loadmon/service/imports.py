"""Importing FIT files (files, folders, zip archives, .fit.gz): one transaction per file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from connectors.fit.files import iter_fit_inputs
from connectors.fit.reader import read_fit
from loadmon.domain import Athlete
from loadmon.errors import ImportFileError, LoadmonError
from loadmon.logs import get_logger
from loadmon.service.context import Service

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class FileResult:
    name: str
    outcome: str  # imported | duplicate | skipped | failed
    activities: int = 0
    replaced: int = 0  # stored activities replaced by this better copy of them
    reason: str | None = None


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
            "failed": self.count("failed"), "new_activities": self.new_activities,
            "replaced_activities": sum(f.replaced for f in self.files),
            "failures": [{"file": f.name, "reason": f.reason} for f in self.failed],
            "skips": [{"file": f.name, "reason": f.reason} for f in self.files if f.outcome == "skipped"],
        }


def count_inputs(paths: Sequence[Path]) -> int:
    return sum(1 for _ in iter_fit_inputs(paths))


def import_paths(service: Service, athlete: Athlete, paths: Sequence[Path], *,
                 on_file: Callable[[FileResult], None] | None = None) -> ImportSummary:
    """Import every FIT file under ``paths``. One bad file never stops the others; each file is
    its own transaction, so a kill mid-batch leaves no partial activity and a rerun finishes."""
    summary = ImportSummary()
    store = service.store
    hysteresis = service.config.fit.hysteresis_m
    for item in iter_fit_inputs(paths):
        try:
            data = item.read()
            digest = hashlib.sha256(data).hexdigest()
            if store.import_seen(athlete.id, digest):
                result = FileResult(name=item.name, outcome="duplicate")
            else:
                parsed = read_fit(data, name=item.name, hysteresis_m=hysteresis)
                if parsed.skipped_reason:
                    store.record_import(athlete.id, path=item.name, content_hash=digest, records=(), outcome="skipped",
                                        error=parsed.skipped_reason)
                    result = FileResult(name=item.name, outcome="skipped", reason=parsed.skipped_reason)
                else:
                    outcome = store.record_import(athlete.id, path=item.name, content_hash=digest,
                                                  records=parsed.activities, outcome="imported")
                    summary.activity_ids.extend(outcome.activity_ids)
                    result = FileResult(name=item.name, outcome=outcome.outcome, activities=outcome.new_activities,
                                        replaced=outcome.replaced_activities)
                    if outcome.new_activities or outcome.replaced_activities:
                        summary.athlete_ids.add(athlete.id)
        except ImportFileError as exc:
            result = FileResult(name=item.name, outcome="failed", reason=exc.problem)
            _log_failure(service, athlete, item.name, exc.problem)
        except LoadmonError as exc:
            result = FileResult(name=item.name, outcome="failed", reason=str(exc))
            _log_failure(service, athlete, item.name, str(exc))
        summary.files.append(result)
        log.debug("import.file", file=item.name, outcome=result.outcome, activities=result.activities, reason=result.reason)
        if on_file:
            on_file(result)
    return summary


def _log_failure(service: Service, athlete: Athlete, name: str, problem: str) -> None:
    try:
        service.store.record_import(athlete.id, path=name, content_hash=None, records=(), outcome="failed", error=problem)
    except LoadmonError:  # the failure is still reported in the summary
        pass
