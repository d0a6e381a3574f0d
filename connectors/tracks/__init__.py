"""GPX and TCX files -> :class:`~loadmon.domain.ActivityRecord` (pure: standard library, loadmon.domain,
loadmon.elevation, connectors.plausibility).

:func:`read_track` is to GPX/TCX what :func:`connectors.fit.read_fit` is to FIT: the same result
type, the same plausibility checks, descent with the same smoothing and hysteresis. Parser: the
standard library's ElementTree for both formats. Both are small XML schemas; what matters is read
by hand anyway (heart rate and distance live in vendor extensions that gpxpy leaves as raw XML), the
repairs real exports need (an undeclared namespace prefix, text before the XML declaration) are
done on the bytes before parsing, and a DTD or entity declaration is refused outright (the
hostile-XML door; GPX and TCX never need one). No native dependency.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from connectors.fit.reader import FitReadResult
from connectors.plausibility import check_activity
from connectors.tracks.gpx import read_gpx_tracks
from connectors.tracks.points import MOVING_SPEED_M_S, to_record
from connectors.tracks.tcx import read_tcx_tracks
from connectors.tracks.xmltext import local, parse_xml
from loadmon.elevation import DEFAULT_HYSTERESIS_M
from loadmon.errors import CorruptFileError, UnsupportedFileError

__all__ = ["read_track", "MOVING_SPEED_M_S", "TRACK_KINDS"]

TRACK_KINDS = ("gpx", "tcx")


def read_track(data: bytes, *, name: str, kind: str, hysteresis_m: float | None = None, now: datetime | None = None) -> FitReadResult:
    """Read one GPX (``kind="gpx"``) or TCX file. A broken file raises :class:`CorruptFileError`
    naming it; a valid file without an activity (a route without times, an empty track) gives
    ``skipped_reason``; each activity passes :func:`connectors.plausibility.check_activity`."""
    if kind not in TRACK_KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(TRACK_KINDS)}")
    root, warnings = parse_xml(data, name=name)
    expected = "gpx" if kind == "gpx" else "TrainingCenterDatabase"
    if local(root.tag) != expected:
        raise CorruptFileError(name, f"not a {kind.upper()} file (the root element is <{local(root.tag)}>)")
    tracks = read_gpx_tracks(root) if kind == "gpx" else read_tcx_tracks(root)
    if not tracks:
        return FitReadResult(activities=(), skipped_reason="no track in the file", warnings=tuple(warnings), record_count=0)
    digest = hashlib.sha256(data).hexdigest()
    records = []
    notices: list[str] = []
    skipped: list[str] = []
    several = len(tracks) > 1
    for i, track in enumerate(tracks):
        label = f"{name} activity {i + 1}" if several else name
        try:
            record, notes = to_record(
                track,
                source=kind,
                name=name,
                content_hash=digest,
                index=i,
                hysteresis_m=DEFAULT_HYSTERESIS_M if hysteresis_m is None else hysteresis_m,
            )
        except UnsupportedFileError as exc:
            skipped.append(f"activity {i + 1}: {exc.problem}" if several else exc.problem)
            continue
        if track.sport == "generic":
            notices.append(f"{label}: no sport in the file: stored as generic (not counted as a run)")
        record, dropped = check_activity(record, source=label, now=now or datetime.now(UTC))
        notices.extend(dropped)
        warnings.extend(f"{label}: {n}" for n in notes)
        records.append(record)
    if not records:
        return FitReadResult(activities=(), skipped_reason="; ".join(skipped), warnings=tuple(warnings), record_count=0)
    notices.extend(f"{name}: {s}" for s in skipped)
    count = sum(len(seg) for t in tracks for seg in t.segments)
    return FitReadResult(
        activities=tuple(records), skipped_reason=None, warnings=tuple(warnings), record_count=count, notices=tuple(notices)
    )
