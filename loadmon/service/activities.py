"""The user's corrections to stored activities: exclude one from the load, include it again.

An excluded activity is kept and listed (``loadmon activities`` marks it, ``--json`` has
``excluded`` and ``excluded_reason``) but the load engine does not count it, so no alert
comes from it. When the same run was stored more than once (a FIT file and its Strava upload,
or a re-saved copy), an excluded copy hands the counting over to another copy of the run that
is not excluded (:mod:`loadmon.storage.duplicates`): exclude a damaged copy to count the good
one, exclude every copy to drop the run. Callers that want the alerts to follow run
:func:`loadmon.service.after_store.after_change` afterwards (the CLI does): alerts whose
condition no longer holds are then withdrawn.
"""

from __future__ import annotations

from typing import Any

from loadmon.domain import Activity, Athlete
from loadmon.errors import ValidationError
from loadmon.service.context import Service

__all__ = ["exclude_activity", "include_activity", "is_excluded", "counted_copy", "activity_summary", "MAX_REASON_CHARS"]

MAX_REASON_CHARS = 500


def exclude_activity(svc: Service, athlete: Athlete, activity_id: int, *, reason: str | None = None) -> Activity:
    """Take the athlete's activity out of the load (``NotFoundError`` for another athlete's id)."""
    text = " ".join(str(reason).split()) if reason is not None else ""
    if len(text) > MAX_REASON_CHARS:
        raise ValidationError(f"--reason is {len(text)} characters long (allowed: at most {MAX_REASON_CHARS})")
    return svc.store.set_excluded(athlete.id, activity_id, excluded=True, reason=text or None)


def include_activity(svc: Service, athlete: Athlete, activity_id: int) -> Activity:
    """Count an excluded activity again."""
    return svc.store.set_excluded(athlete.id, activity_id, excluded=False)


def is_excluded(svc: Service, athlete: Athlete, activity_id: int) -> bool | None:
    """Whether the athlete's activity is excluded now (None when the athlete has no such activity)."""
    found = [a for a in svc.store.list_activities(athlete.id) if a.id == activity_id]
    return found[0].excluded if found else None


def counted_copy(svc: Service, athlete: Athlete, activity: Activity) -> Activity | None:
    """The other copy of the same run that counts now (None when no copy of it counts, or when
    ``activity`` itself counts)."""
    acts = svc.store.list_activities(athlete.id)
    by_id = {a.id: a for a in acts}
    current = by_id.get(activity.id, activity)
    if current.duplicate_of is None:
        return None
    primary = by_id.get(current.duplicate_of)
    return primary if primary is not None and not primary.excluded else None


def activity_summary(svc: Service, athlete: Athlete, activity: Activity) -> dict[str, Any]:
    """What the CLI says after a change: the activity and the copy that counts instead."""
    other = counted_copy(svc, athlete, activity)
    return {"id": activity.id, "excluded": activity.excluded, "excluded_reason": activity.excluded_reason,
            "counted_instead": other.id if other is not None else None,
            "counted_instead_source": other.source if other is not None else None}
