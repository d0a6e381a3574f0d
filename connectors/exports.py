"""Bulk-export metadata: Strava's ``activities.csv`` (pure, standard library).

A Strava bulk export (the zip from strava.com/athlete/delete_your_account, "Download Request", or
its unzipped folder) holds ``activities.csv`` and the original files under ``activities/``
(``123.fit.gz``, ``456.gpx.gz``, ``789.tcx.gz``). Each CSV row names its file (``Filename``) and
gives Strava's activity id, type and name: the import stores them with the file's activity, so
the activity carries Strava's id (``external_id = "strava:<id>"``) and sport, and the same run
synced later from the API is recognised as the same activity by its id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from loadmon.domain import STRAVA_ID_PREFIX

__all__ = ["StravaExportEntry", "parse_strava_activities_csv", "STRAVA_ID_PREFIX", "strava_external_id", "EXPORT_CSV"]

EXPORT_CSV = "activities.csv"
_MAX_ID = 2**63 - 1


@dataclass(frozen=True, kw_only=True, slots=True)
class StravaExportEntry:
    activity_id: int
    activity_type: str  # Strava's type as the CSV writes it ("Run", "Trail Run", "Ride")
    name: str | None
    filename: str  # as in the CSV, e.g. "activities/123.fit.gz"


def strava_external_id(activity_id: int) -> str:
    return f"{STRAVA_ID_PREFIX}{activity_id}"


def _key(filename: str) -> str:
    return filename.replace("\\", "/").strip().lstrip("./").lower()


def parse_strava_activities_csv(data: bytes) -> tuple[dict[str, StravaExportEntry], list[str]]:
    """The rows of ``activities.csv`` by file path (lower case, ``/``), and one problem per unusable row
    (naming its line and field). Rows without a file (manual activities) are left out, silently."""
    text = data.decode("utf-8-sig", errors="replace")
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header:
        return {}, ["activities.csv is empty"]
    index: dict[str, int] = {}
    for i, column in enumerate(header):
        index.setdefault(column.strip().lower(), i)  # the export repeats some column names: the first counts
    missing = [c for c in ("activity id", "activity type", "filename") if c not in index]
    if missing:
        return {}, [f"activities.csv has no column {', '.join(repr(m) for m in missing)}"]
    out: dict[str, StravaExportEntry] = {}
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):

        def get(column: str, row: list[str] = row) -> str:
            i = index.get(column)
            return row[i].strip() if i is not None and i < len(row) else ""

        filename = get("filename")
        if not filename:
            continue
        raw_id = get("activity id")
        if not raw_id.isdigit() or not 0 < int(raw_id) <= _MAX_ID:
            problems.append(f"activities.csv line {line}: Activity ID {raw_id!r} is not an activity id")
            continue
        out[_key(filename)] = StravaExportEntry(
            activity_id=int(raw_id), activity_type=get("activity type"), name=get("activity name") or None, filename=filename
        )
    return out, problems


def entry_for(entries: dict[str, StravaExportEntry], path: str) -> StravaExportEntry | None:
    """The CSV row of the file at ``path`` (relative to the export's root, any case)."""
    return entries.get(_key(path))
