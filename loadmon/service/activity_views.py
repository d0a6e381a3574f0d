"""Stored activities as the CLI and the web show them: ``loadmon activities --json`` (and
``GET /api/activities``), a page of the list, and one activity with its engine finding, its
alerts and its elevation profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loadmon.domain import Activity, Athlete
from loadmon.engine import ActivityFinding, activity_finding, spike_words
from loadmon.errors import NotFoundError
from loadmon.service.context import Service

__all__ = ["PAGE_SIZE", "ActivityDetail", "ActivityPage", "activity_detail", "activity_json", "activity_page", "list_activities_json"]

#: Activities on one page of the list (``/activities?page=N``).
PAGE_SIZE = 100


def activity_json(a: Activity, tz: str) -> dict[str, Any]:
    """One activity with the keys of ``loadmon activities --json`` (start time in the athlete's zone ``tz``)."""
    return {
        "id": a.id,
        "source": a.source,
        "source_id": a.source_id,
        "sport": a.sport,
        "sub_sport": a.sub_sport,
        "name": a.name,
        "start_time": a.start_time.astimezone(ZoneInfo(tz)).isoformat(),
        "local_date": a.local_date.isoformat(),
        "distance_m": a.distance_m,
        "moving_time_s": a.moving_time_s,
        "elapsed_time_s": a.elapsed_time_s,
        "elevation_gain_m": a.elevation_gain_m,
        "elevation_loss_m": a.elevation_loss_m,
        "steep_descent_m": a.steep_descent_m,
        "elevation_source": str(a.elevation_source),
        "avg_hr": a.avg_hr,
        "max_hr": a.max_hr,
        "perceived_exertion": a.perceived_exertion,
        "device": a.device,
        "deleted": a.deleted,
        "duplicate_of": a.duplicate_of,
        "excluded": a.excluded,
        "excluded_reason": a.excluded_reason,
        "truncated": a.truncated,
    }


def list_activities(svc: Service, athlete: Athlete, *, since: date | None = None, include_deleted: bool = False) -> list[Activity]:
    """The athlete's stored activities, oldest first (without the deleted ones: read as plain
    columns, the club view's fast path, 2-3 times quicker on a long history)."""
    if include_deleted:
        return svc.store.list_activities(athlete.id, since=since, include_deleted=True)
    return svc.store.list_activities_for([athlete.id], since=since)[athlete.id]


def list_activities_json(
    svc: Service, athlete: Athlete, *, since: date | None = None, include_deleted: bool = False
) -> list[dict[str, Any]]:
    """``loadmon activities --json``: every stored activity, oldest first, as :func:`activity_json`."""
    return [activity_json(a, athlete.timezone) for a in list_activities(svc, athlete, since=since, include_deleted=include_deleted)]


@dataclass(frozen=True, kw_only=True)
class ActivityPage:
    """One page of the athlete's activities, newest first (``page`` from 1)."""

    rows: list[dict[str, Any]]  # activity_json of each
    page: int
    pages: int  # at least 1
    total: int


def activity_page(svc: Service, athlete: Athlete, page: int = 1, *, per_page: int = PAGE_SIZE) -> ActivityPage:
    """Page ``page`` of the athlete's (not deleted) activities, newest first; a page past the end is
    :class:`NotFoundError` (page 1 of none is an empty page)."""
    if page < 1:
        raise NotFoundError(f"no page {page} of activities")
    acts, total = svc.store.activities_page(athlete.id, offset=(page - 1) * per_page, limit=per_page)
    pages = max(1, -(-total // per_page))
    if page > pages:
        raise NotFoundError(f"no page {page} of activities (pages: 1-{pages})")
    return ActivityPage(rows=[activity_json(a, athlete.timezone) for a in acts], page=page, pages=pages, total=total)


@dataclass(frozen=True, kw_only=True)
class ActivityDetail:
    """One activity: its JSON (:func:`activity_json`), the engine's finding for it (``None`` for an
    activity that is not a counted run, ``not_counted`` says why), its alerts and its profile."""

    activity: dict[str, Any]
    finding: dict[str, Any] | None  # ActivityFinding.to_dict() plus "spike_words"
    not_counted: str | None
    alerts: list[dict[str, Any]]
    profile: tuple[tuple[float, float], ...] | None


def _owned(svc: Service, athlete: Athlete, activity_id: int) -> Activity:
    """The athlete's activity; another athlete's id is as missing as an unknown one."""
    try:
        activity = svc.store.get_activity(activity_id)
    except NotFoundError:
        raise NotFoundError(f"no activity with id {activity_id}") from None
    if activity.athlete_id != athlete.id:
        raise NotFoundError(f"no activity with id {activity_id}")
    return activity


def _not_counted(svc: Service, a: Activity) -> str | None:
    if a.deleted:
        return "deleted at its source: not counted in the load"
    if a.excluded:
        return "excluded from the load" + (f" ({a.excluded_reason})" if a.excluded_reason else "")
    if a.duplicate_of is not None:
        return f"a copy of activity {a.duplicate_of}, which counts for the run"
    if a.sport not in svc.config.engine.running_sports:
        return f"{a.sport} is not a running sport: no distance spike"
    return None


def activity_detail(svc: Service, athlete: Athlete, activity_id: int) -> ActivityDetail:
    """The athlete's activity ``activity_id`` (``NotFoundError`` for another athlete's) with the
    engine's finding for it: the same finding ``loadmon status`` and the alert rules use (warm-up
    and the 30-day window the same: :func:`loadmon.engine.activity_finding` over the window's runs)."""
    from loadmon.service import alerting
    from loadmon.service.load import engine_settings

    a = _owned(svc, athlete, activity_id)
    not_counted = _not_counted(svc, a)
    finding: ActivityFinding | None = None
    if not_counted is None:  # the runs of the spike window before it, and the first run's day (warming up)
        settings = engine_settings(svc.config)
        window = svc.store.list_activities(
            athlete.id, since=a.local_date - timedelta(days=settings.spike_lookback_days), until=a.local_date
        )
        first = svc.store.first_counted_date(athlete.id, sorted(settings.running_sports))
        finding = activity_finding(window, athlete, a.id, settings, run_history_start=first)
    alerts = [x for x in alerting.list_alerts(svc, athlete, since=a.local_date) if x["activity_id"] == a.id]
    return ActivityDetail(
        activity=activity_json(a, athlete.timezone),
        finding=None if finding is None else finding.to_dict() | {"spike_words": spike_words(finding.spike_band)},
        not_counted=not_counted,
        alerts=alerts,
        profile=svc.store.activity_profile(athlete.id, a.id),
    )
