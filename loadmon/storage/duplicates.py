"""One run stored more than once: which copies are the same run, and which copy counts.

Two stored activities of an athlete are the same run when they start within
:data:`DUPLICATE_START_S` (60 s) of each other and their distances differ by at most
:data:`DUPLICATE_DISTANCE_FRACTION` (3 %), whatever their source: a FIT file and its Strava
upload, or a FIT file and a copy of it re-saved by another program (no serial number, start
1 s later). A Strava activity whose ``external_id`` names a FIT file of the same day is the same
run as that file, and so is a file of a Strava bulk export whose ``external_id`` is ``strava:<id>``
and the activity of that id synced from the API. The copies form a group: the best copy is the *primary* (counted), every
other copy points to it with ``duplicate_of`` (kept, not counted).

The best copy (:func:`primary_rank`): one the user has not excluded; then the better
elevation (device > computed > estimated > none); then the more complete record
(:func:`completeness`: a record stream, a distance, heart rate, a device serial number); then
the FIT file over Strava; then the first stored. The choice is re-decided whenever a copy of
the group is stored, changed, deleted, excluded or included, so the genuine file wins
whichever order the copies arrive in.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loadmon.domain import STRAVA_ID_PREFIX, ActivityRecord, ElevationSource
from loadmon.storage.models import ActivityRow

__all__ = ["DUPLICATE_START_S", "DUPLICATE_DISTANCE_FRACTION", "completeness", "primary_rank", "relink",
           "record_beats_row"]

DUPLICATE_START_S = 60
DUPLICATE_DISTANCE_FRACTION = 0.03
_ELEVATION_RANK = {ElevationSource.DEVICE: 3, ElevationSource.COMPUTED: 2, ElevationSource.ESTIMATED: 1,
                   ElevationSource.NONE: 0}
# completeness points, most important first (each outweighs all the ones below it)
_RECORDS, _DISTANCE, _HEART_RATE, _SERIAL = 8, 4, 2, 1
_MAX_COPIES = 50  # a bound on one run's group (a real run has 2 or 3 copies)


def completeness(rec: ActivityRecord) -> int:
    """How complete a record is: a record stream (8), a distance (4), heart rate (2), a device
    serial number (1). A connector that does not say (Strava) counts as having a stream but no
    serial; a FIT file says both (``extra["records"]``, ``extra["has_serial"]``)."""
    records = rec.extra.get("records")
    score = _RECORDS if records is None or records > 0 else 0
    score += _DISTANCE if rec.distance_m else 0
    score += _HEART_RATE if rec.avg_hr is not None else 0
    score += _SERIAL if rec.extra.get("has_serial") else 0
    return score


def _row_completeness(row: ActivityRow) -> int:
    if row.quality is not None:
        return row.quality
    # stored before the score existed: judged from its columns (a FIT file with serial and stream)
    score = _RECORDS + (_DISTANCE if row.distance_m else 0) + (_HEART_RATE if row.avg_hr is not None else 0)
    return score + (_SERIAL if row.source == "fit" else 0)


def _elevation_rank(value: str) -> int:
    return _ELEVATION_RANK[ElevationSource(value)]


def primary_rank(row: ActivityRow) -> tuple[int, int, int, int, int]:
    """Higher is better: the copy of a run that counts (see the module doc)."""
    return (int(not row.excluded), _elevation_rank(row.elevation_source), _row_completeness(row),
            int(row.source == "fit"), -row.id)


def record_beats_row(rec: ActivityRecord, row: ActivityRow) -> bool:
    """True when ``rec`` (a new copy with the same source id) is a better copy than the stored row."""
    new = (_elevation_rank(ElevationSource(rec.elevation_source).value), completeness(rec))
    old = (_elevation_rank(row.elevation_source), _row_completeness(row))
    return new > old


def same_distance(a: float | None, b: float | None) -> bool:
    if not a or not b:
        return False
    return abs(a - b) <= DUPLICATE_DISTANCE_FRACTION * max(a, b)


def same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False

    def stem(x: str) -> str:
        base = x.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!", 1)[-1].lower()
        for suffix in (".gz", ".fit"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        return base
    return stem(a) == stem(b)


def _matches(s: Session, row: ActivityRow) -> list[ActivityRow]:
    """The stored copies of ``row``'s run (not deleted, any source)."""
    window = timedelta(seconds=DUPLICATE_START_S)
    near = s.scalars(select(ActivityRow).where(
        ActivityRow.athlete_id == row.athlete_id, ActivityRow.deleted.is_(False), ActivityRow.id != row.id,
        ActivityRow.start_time.between(row.start_time - window, row.start_time + window))).all()
    found = [c for c in near if same_distance(c.distance_m, row.distance_m)]
    if row.external_id:
        day = timedelta(days=1)  # an external_id match is the same run: it started within a day
        named = s.scalars(select(ActivityRow).where(
            ActivityRow.athlete_id == row.athlete_id, ActivityRow.source != row.source, ActivityRow.id != row.id,
            ActivityRow.deleted.is_(False), ActivityRow.external_id.is_not(None),
            ActivityRow.start_time.between(row.start_time - day, row.start_time + day))).all()
        found += [c for c in named if same_file(c.external_id, row.external_id) and c not in found]
    # a file of a Strava bulk export (external_id strava:<id>) and the run synced from the API (source_id <id>)
    day = timedelta(days=1)
    around = (ActivityRow.athlete_id == row.athlete_id, ActivityRow.id != row.id, ActivityRow.deleted.is_(False),
              ActivityRow.start_time.between(row.start_time - day, row.start_time + day))
    if row.source == "strava":
        same_id = s.scalars(select(ActivityRow).where(*around, ActivityRow.external_id == f"{STRAVA_ID_PREFIX}{row.source_id}"))
        found += [c for c in same_id if c not in found]
    elif row.external_id and row.external_id.startswith(STRAVA_ID_PREFIX) and row.external_id[len(STRAVA_ID_PREFIX):].isdigit():
        sid = int(row.external_id[len(STRAVA_ID_PREFIX):])
        same_id = s.scalars(select(ActivityRow).where(*around, ActivityRow.source == "strava", ActivityRow.source_id == sid))
        found += [c for c in same_id if c not in found]
    return found


def _group(s: Session, row: ActivityRow) -> list[ActivityRow]:
    """``row`` and every stored copy of its run (the matches of the matches, and so on)."""
    members = {row.id: row}
    todo = [row]
    while todo and len(members) < _MAX_COPIES:
        for m in _matches(s, todo.pop()):
            if m.id not in members and m.athlete_id == row.athlete_id:
                members[m.id] = m
                todo.append(m)
    return list(members.values())


def relink(s: Session, row: ActivityRow) -> None:
    """Re-decide the primary of ``row``'s run after ``row`` was stored, changed, deleted,
    excluded or included (one transaction: the caller's session)."""
    s.flush()
    former = s.scalars(select(ActivityRow).where(ActivityRow.duplicate_of == row.id)).all()
    members: list[ActivityRow] = []
    if row.deleted:
        row.duplicate_of = None
    else:
        members = _group(s, row)
        primary = max(members, key=primary_rank)
        for m in members:
            m.duplicate_of = None if m is primary else primary.id
    ids = {m.id for m in members}
    for f in former:  # copies that pointed to row but are no longer in its group find their own
        if f.id not in ids:
            f.duplicate_of = None
            relink(s, f)
    s.flush()
