"""Public entry point: :func:`read_fit` turns the bytes of one FIT file into activity records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from connectors.fit.activities import build_activities
from connectors.fit.decoding import decode_fit
from connectors.plausibility import check_activity
from loadmon.domain import ActivityRecord
from loadmon.elevation import DEFAULT_HYSTERESIS_M
from loadmon.errors import CorruptFileError


@dataclass(frozen=True, kw_only=True, slots=True)
class FitReadResult:
    """What one FIT file holds.

    ``activities`` is empty when the file is valid but not an activity; ``skipped_reason``
    then says why (settings, monitoring, course, ... files). ``warnings`` are per-file notes
    (fallback decoder used, device totals replaced by the stream, no session message, ...).
    ``record_count`` counts the ``record`` messages read over all FIT chunks of the file.
    ``notices`` are the warnings a user should see: implausible values dropped to null (naming
    the file, field, value and allowed range) and a truncated file imported in part.
    """

    activities: tuple[ActivityRecord, ...]
    skipped_reason: str | None
    warnings: tuple[str, ...]
    record_count: int
    notices: tuple[str, ...] = ()
    #: a valid FIT file of another kind (monitoring, sleep, settings, ...: its ``file_id.type``), as a Garmin
    #: export holds thousands of: counted as "not activities", never as a failure
    not_activity: bool = False


def read_fit(
    data: bytes,
    *,
    name: str,
    allow_truncated: bool = False,
    prefer_device_elevation: bool = True,
    hysteresis_m: float | None = None,
    now: datetime | None = None,
) -> FitReadResult:
    """Read one FIT file. ``name`` is the display name used in errors and as ``external_id``.

    Raises :class:`loadmon.errors.CorruptFileError` (naming ``name``) for empty, non-FIT,
    truncated, bad-CRC or otherwise undecodable data; never for a valid non-activity file.
    ``allow_truncated=True`` imports a file whose only fault is a missing end (with a warning).
    ``prefer_device_elevation=False`` computes ascent/descent from the altitude stream even
    where the session has device totals (e.g. to compare with Strava-computed descent).
    ``hysteresis_m`` overrides :data:`loadmon.elevation.DEFAULT_HYSTERESIS_M` (1 m, applied after
    the 9-sample smoothing) for descent computed from altitude.

    Every activity passes :func:`connectors.plausibility.check_activity` (``now``: the clock's
    time, default the system's): an implausible start, distance, duration or speed raises
    :class:`loadmon.errors.ImplausibleValueError` for the whole file; an implausible ascent,
    descent or heart rate is dropped to null with a notice. Activities of a truncated file
    (``allow_truncated``) carry ``truncated=True``.
    """
    decoded = decode_fit(bytes(data), name=name, allow_truncated=allow_truncated)
    try:
        activities, skipped, warnings = build_activities(
            decoded,
            name=name,
            sha256_hex=hashlib.sha256(data).hexdigest(),
            prefer_device_elevation=prefer_device_elevation,
            hysteresis_m=DEFAULT_HYSTERESIS_M if hysteresis_m is None else hysteresis_m,
        )
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, OSError) as exc:
        # decodable but nonsensical values (e.g. an array where a number belongs)
        raise CorruptFileError(name, f"unexpected content: {type(exc).__name__}: {exc}") from exc
    now = now or datetime.now(UTC)
    notices = [w for w in warnings if "is not plausible" in w]  # non-finite values dropped while building
    checked: list[ActivityRecord] = []
    several = len(activities) > 1
    for index, activity in enumerate(activities):
        source = f"{name} session {index} ({activity.sport})" if several else name
        activity, dropped = check_activity(activity, source=source, now=now)
        notices.extend(dropped)
        checked.append(replace(activity, truncated=True) if decoded.truncated else activity)
    if decoded.truncation is not None and checked:
        notices.append(decoded.truncation)
    types = {str((c.file_id or {}).get("type")) for c in decoded.chunks}
    return FitReadResult(
        activities=tuple(checked),
        skipped_reason=skipped,
        not_activity=not checked and "activity" not in types,
        warnings=tuple(decoded.warnings + warnings + [n for n in notices if n not in decoded.warnings + warnings]),
        record_count=decoded.record_count,
        notices=tuple(notices),
    )
