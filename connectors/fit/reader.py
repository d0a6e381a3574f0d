"""Public entry point: :func:`read_fit` turns the bytes of one FIT file into activity records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from connectors.fit.activities import build_activities
from connectors.fit.decoding import decode_fit
from loadmon.domain import ActivityRecord


@dataclass(frozen=True, kw_only=True, slots=True)
class FitReadResult:
    """What one FIT file holds.

    ``activities`` is empty when the file is valid but not an activity; ``skipped_reason``
    then says why (settings, monitoring, course, ... files). ``warnings`` are per-file notes
    (fallback decoder used, device totals replaced by the stream, no session message, ...).
    ``record_count`` counts the ``record`` messages read over all FIT chunks of the file.
    """

    activities: tuple[ActivityRecord, ...]
    skipped_reason: str | None
    warnings: tuple[str, ...]
    record_count: int


def read_fit(
    data: bytes, *, name: str, allow_truncated: bool = False, prefer_device_elevation: bool = True
) -> FitReadResult:
    """Read one FIT file. ``name`` is the display name used in errors and as ``external_id``.

    Raises :class:`loadmon.errors.CorruptFileError` (naming ``name``) for empty, non-FIT,
    truncated, bad-CRC or otherwise undecodable data; never for a valid non-activity file.
    ``allow_truncated=True`` imports a file whose only fault is a missing end (with a warning).
    ``prefer_device_elevation=False`` computes ascent/descent from the altitude stream even
    where the session has device totals (e.g. to compare with Strava-computed descent).
    """
    decoded = decode_fit(bytes(data), name=name, allow_truncated=allow_truncated)
    activities, skipped, warnings = build_activities(
        decoded, name=name, sha256_hex=hashlib.sha256(data).hexdigest(), prefer_device_elevation=prefer_device_elevation
    )
    return FitReadResult(
        activities=tuple(activities),
        skipped_reason=skipped,
        warnings=tuple(decoded.warnings + warnings),
        record_count=decoded.record_count,
    )
