"""loadmon's own records: plain, frozen, keyword-only dataclasses.

Connectors translate outside data (FIT files, Strava JSON) into :class:`ActivityRecord`;
the storage layer returns :class:`Activity` (a stored record with its id and local date).
The load engine and the alert rules take these in and give plain data out.

Conventions: distances in metres, times in seconds, datetimes timezone-aware (UTC for
storage), ids 64-bit integers.
"""

from __future__ import annotations

import enum
import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from loadmon.errors import ImplausibleValueError

_MEASURES = (
    "distance_m", "moving_time_s", "elapsed_time_s", "elevation_gain_m", "elevation_loss_m", "steep_descent_m",
    "avg_hr", "max_hr", "perceived_exertion",
)


def _require_finite(record: Any) -> None:
    """Nothing stored (and so nothing the engine reads) holds NaN or infinity: a connector's record
    with one is refused where it is built. (Stored :class:`Activity` rows are not checked: the engine
    itself counts a non-finite value as missing, so rows stored before this check still load.)"""
    for name in _MEASURES:
        value = getattr(record, name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ImplausibleValueError(source=f"{record.source} activity {record.source_id}", field=name,
                                        value=str(value), allowed="a finite number")


class ElevationSource(enum.StrEnum):
    """Where an activity's ascent/descent came from."""

    DEVICE = "device"  # the device's own session totals (often barometric)
    COMPUTED = "computed"  # computed by loadmon from the altitude stream (hysteresis)
    ESTIMATED = "estimated"  # neither available: a documented fallback estimate
    NONE = "none"  # no elevation information at all


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, kw_only=True, slots=True)
class Athlete:
    id: int
    name: str
    timezone: str = "UTC"
    hr_rest: int | None = None
    hr_max: int | None = None
    sex: Sex | None = None


#: The longest athlete name accepted (characters); names are shown in tables, emails and the report.
MAX_ATHLETE_NAME_CHARS = 100


def athlete_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an athlete name (empty, too long, control characters), or None."""
    if not name.strip():
        return "the athlete name must not be empty"
    if len(name) > MAX_ATHLETE_NAME_CHARS:
        return f"the athlete name is {len(name)} characters long (allowed: at most {MAX_ATHLETE_NAME_CHARS})"
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        return "the athlete name contains control characters (allowed: printable text)"
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityRecord:
    """One activity as a connector reads it, before it is stored."""

    source: str  # "fit" | "strava"
    source_id: int  # 64-bit; FIT: derived from file_id (serial, time_created) or content
    sport: str  # normalised lower-case FIT-style sport: running, cycling, walking, hiking, ...
    sub_sport: str | None = None
    start_time: datetime  # timezone-aware, UTC
    distance_m: float | None = None
    moving_time_s: float | None = None
    elapsed_time_s: float | None = None
    elevation_gain_m: float | None = None
    elevation_loss_m: float | None = None
    elevation_source: ElevationSource = ElevationSource.NONE
    steep_descent_m: float | None = None  # descent on stretches at -8 % or steeper (loadmon.elevation.steep_descent)
    avg_hr: int | None = None
    max_hr: int | None = None
    perceived_exertion: float | None = None  # 0-10 (session RPE)
    device: str | None = None
    name: str | None = None
    external_id: str | None = None  # Strava external_id / the FIT file name
    utc_offset_s: int | None = None  # local offset at start when the source knows it
    private: bool | None = None
    content_hash: str = ""  # sha256 of the canonical content (file bytes or JSON)
    truncated: bool = False  # read from a FIT file whose end is missing (``import --allow-truncated``)
    # up to ~500 (distance m, altitude m) points for the altitude chart (loadmon.elevation.elevation_profile);
    # None: no distance + altitude stream. Stored beside the activity, not in :class:`Activity`.
    profile: tuple[tuple[float, float], ...] | None = field(default=None, compare=False, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        _require_finite(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class Activity:
    """A stored activity: the record plus its database id, athlete and local day."""

    id: int
    athlete_id: int
    source: str
    source_id: int
    sport: str
    sub_sport: str | None
    start_time: datetime
    local_date: date
    distance_m: float | None
    moving_time_s: float | None
    elapsed_time_s: float | None
    elevation_gain_m: float | None
    elevation_loss_m: float | None
    elevation_source: ElevationSource
    avg_hr: int | None
    max_hr: int | None
    perceived_exertion: float | None
    device: str | None
    name: str | None = None
    external_id: str | None = None
    deleted: bool = False
    duplicate_of: int | None = None  # set when the same run came from another source
    private: bool | None = None
    steep_descent_m: float | None = None  # None: no distance + altitude stream to measure it
    excluded: bool = False  # the user took it out of the load (`loadmon activities exclude`): kept, not counted
    excluded_reason: str | None = None
    truncated: bool = False  # only the readable part of a FIT file whose end is missing (`import --allow-truncated`)


#: ``external_id`` of an activity from a file of a Strava bulk export: ``strava:<Strava activity id>``; the same
#: run synced from the API (source ``strava``, ``source_id`` that id) is the same activity (loadmon.storage.duplicates).
STRAVA_ID_PREFIX = "strava:"


SYMPTOM_SITES: tuple[str, ...] = (
    "knee",
    "it_band",
    "hip",
    "glute",
    "hamstring",
    "quad",
    "calf",
    "shin",
    "achilles",
    "ankle",
    "foot",
    "lower_back",
    "other",
)
LOWER_LIMB_SITES: frozenset[str] = frozenset(SYMPTOM_SITES) - {"lower_back", "other"}
SYMPTOM_SIDES: tuple[str, ...] = ("left", "right", "both", "none")


@dataclass(frozen=True, kw_only=True, slots=True)
class SeverityUpdate:
    """A later reading of a symptom's pain (``loadmon symptom update``, the morning check-in)."""

    id: int
    symptom_id: int
    at: datetime
    severity: int  # 0-10
    note: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Symptom:
    """A logged symptom: ``severity`` as first logged at ``started_at``, then its ``updates`` (oldest first)."""

    id: int
    athlete_id: int
    site: str
    side: str
    location: str | None
    severity: int  # 0-10, as first logged
    started_at: datetime
    resolved_at: datetime | None = None
    note: str | None = None
    updates: tuple[SeverityUpdate, ...] = ()

    def readings(self) -> tuple[tuple[datetime, int], ...]:
        """Every (time, severity) of this symptom, oldest first: the first entry, then each update."""
        return ((self.started_at, self.severity), *((u.at, u.severity) for u in self.updates))

    def severity_at(self, when: datetime) -> int | None:
        """The severity last read at or before ``when`` (None before the symptom started)."""
        found: int | None = None
        for at, severity in self.readings():
            if at > when:
                break
            found = severity
        return found

    @property
    def current_severity(self) -> int:
        """The latest reading (the first entry when there is no update)."""
        return self.updates[-1].severity if self.updates else self.severity


class AlertSeverity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"


class DeliveryState(enum.StrEnum):
    """State of one outbox row (one alert on one channel)."""

    PENDING = "pending"  # due (now or at next_attempt_at); retried on failure
    SENT = "sent"  # the channel accepted it (SMTP 250 after DATA / HTTP 2xx)
    FAILED = "failed"  # gave up after max_attempts; kept with its last error
    SUPPRESSED = "suppressed"  # recorded but never sent: outside the notify window
    BUNDLED = "bundled"  # sent inside another alert's message (same evaluation, same athlete): that row's state is its state


def make_idempotency_key(dedupe_key: str, channel: str) -> str:
    """The idempotency key of one alert on one channel: stable, short, secret-free, ASCII.

    The same alert (``Alert.dedupe_key``) on the same channel name always gives the same key,
    so a row re-created after a crash still carries the key the receiver may have seen.
    """
    if not dedupe_key or not channel:
        raise ValueError("dedupe_key and channel must not be empty")
    digest = hashlib.sha256(f"{dedupe_key}\x1f{channel}".encode()).hexdigest()
    return f"lm-{digest[:32]}"


def local_date_of(start_time_utc: datetime, timezone: str) -> date:
    """The local calendar day, in IANA zone ``timezone``, of the instant ``start_time_utc``.

    A run that starts at 23:30 local time counts on that local day, whatever the UTC date.
    DST-safe (zoneinfo). Raises ``ValueError`` for a naive datetime or an unknown zone name.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if start_time_utc.tzinfo is None or start_time_utc.utcoffset() is None:
        raise ValueError(f"start_time_utc: naive datetime {start_time_utc!r}; expected a timezone-aware instant")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: unknown IANA time zone {timezone!r}") from exc
    return start_time_utc.astimezone(zone).date()


def activity_local_date(start_time_utc: datetime, utc_offset_s: int | None, timezone: str) -> date:
    """The local calendar day of an activity: from its own local start time when the source gives it
    (``utc_offset_s``: Strava ``start_date_local`` / ``utc_offset``, FIT ``activity.local_timestamp``),
    otherwise from the athlete's time zone (:func:`local_date_of`). A run at 00:26 in London in summer
    counts on that day even for an athlete whose zone is UTC; a traveller's run counts on the day it
    was where it was run."""
    if utc_offset_s is None:
        return local_date_of(start_time_utc, timezone)
    if start_time_utc.tzinfo is None or start_time_utc.utcoffset() is None:
        raise ValueError(f"start_time_utc: naive datetime {start_time_utc!r}; expected a timezone-aware instant")
    return (start_time_utc.astimezone(UTC) + timedelta(seconds=utc_offset_s)).date()


@dataclass(frozen=True, kw_only=True, slots=True)
class JobRun:
    """One recorded run of a daemon/worker job (the ``job_runs`` table). ``outcome``: running,
    ok, skipped, error or interrupted; ``counts``: what the job reported (JSON)."""

    id: int
    job: str
    athlete_id: int | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class JobRunOverview:
    """The runs of one (job, athlete) the health report judges: the latest run (possibly still
    running), the latest run that ended and the latest failed run."""

    job: str
    athlete_id: int | None
    last: JobRun | None
    last_finished: JobRun | None = None
    last_error: JobRun | None = None
