"""Files uploaded through the web app (FIT files, zip archives), imported the way ``loadmon import``
imports paths: each saved into a private temporary folder (0700, removed afterwards) under its own
name, then :func:`loadmon.service.imports.import_paths` and, when something new was stored,
:func:`loadmon.service.after_store.after_change` (the alerts), as the CLI does."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from loadmon.domain import Athlete
from loadmon.service.alert_counts import AlertCounts
from loadmon.service.context import Service
from loadmon.service.imports import FileResult, ImportSummary, import_paths

__all__ = ["UploadedFile", "UploadOutcome", "import_uploads", "safe_name"]

_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME_CHARS = 200


@dataclass(frozen=True, kw_only=True)
class UploadedFile:
    """One uploaded file: the name the browser gave it and its bytes (an open binary file)."""

    name: str
    data: IO[bytes]


@dataclass(frozen=True, kw_only=True)
class UploadOutcome:
    summary: ImportSummary  # per file (by its uploaded name; a zip's members as "runs.zip!a.fit")
    alerts: AlertCounts | None  # the alert evaluation after storing (None: nothing new to evaluate)


def safe_name(raw: str, index: int) -> str:
    """The uploaded file's own name without any folder part or control characters (the browser
    may send a path); ``upload-N`` when nothing is left."""
    base = _UNSAFE.sub("", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if base in ("", ".", ".."):
        return f"upload-{index + 1}"
    return base[-MAX_NAME_CHARS:]


def import_uploads(svc: Service, athlete: Athlete, files: Sequence[UploadedFile]) -> UploadOutcome:
    """Save ``files`` into a private temporary folder and import them (one bad file never stops the
    others); every name in the result is the uploaded one, never the temporary path."""
    from loadmon.service.after_store import after_change
    from loadmon.service.alerting import validate_channels

    validate_channels(svc.config)  # a bad alert channel setting stops us before anything is stored
    folder = Path(tempfile.mkdtemp(prefix="loadmon-upload-"))  # mode 0700
    try:
        paths: list[Path] = []
        for i, f in enumerate(files):
            slot = folder / str(i)
            slot.mkdir(mode=0o700)
            path = slot / safe_name(f.name, i)
            with path.open("xb") as out:
                shutil.copyfileobj(f.data, out, _CHUNK)
            path.chmod(0o600)
            paths.append(path)
        prefix = f"{folder}/"

        def label(name: str) -> str:
            if name.startswith(prefix):
                return name[len(prefix) :].split("/", 1)[-1]
            return name

        summary = import_paths(svc, athlete, paths, label=label)
        for k, r in enumerate(summary.files):  # a message that quotes the temporary path quotes the name instead
            if r.reason and prefix in r.reason:
                summary.files[k] = _relabel(r, prefix)
        alerts = after_change(svc, summary.athlete_ids) if summary.athlete_ids else None
        return UploadOutcome(summary=summary, alerts=alerts)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _relabel(result: FileResult, prefix: str) -> FileResult:
    reason = re.sub(re.escape(prefix) + r"\d+/", "", result.reason or "")
    return replace(result, reason=reason)
