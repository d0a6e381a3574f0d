"""The symptom log: what hurts, where, how much, since when (the input of ``hilly_after_symptoms``).

Validation (a :class:`~loadmon.errors.ValidationError` says what is allowed):

* ``site``: one of :data:`loadmon.domain.SYMPTOM_SITES` (``it-band`` and ``IT band`` are
  accepted for ``it_band``); the lower-limb sites are the ones the alert rule watches;
* ``side``: left, right, both or none;
* ``severity``: a whole number 0-10;
* ``location``: free text (e.g. "lateral"), at most 64 characters; ``note``: free text;
* ``at`` (when it started) and the resolve time: timezone-aware, not in the future; a symptom
  cannot be resolved before it started.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loadmon.domain import LOWER_LIMB_SITES, SYMPTOM_SIDES, SYMPTOM_SITES, Athlete, Symptom
from loadmon.errors import NotFoundError, ValidationError
from loadmon.service.context import Service

__all__ = ["add_symptom", "list_symptoms", "resolve_symptom", "update_severity", "edit_symptom", "delete_symptom", "symptom_json",
           "normalise_site", "MAX_LOCATION_CHARS", "EDITABLE"]

MAX_LOCATION_CHARS = 64
MAX_NOTE_CHARS = 2000


def normalise_site(site: str) -> str:
    """``"IT band"`` / ``"it-band"`` -> ``"it_band"``; raises ValidationError for an unknown site."""
    key = "_".join(str(site).strip().lower().replace("-", " ").split())
    if key not in SYMPTOM_SITES:
        raise ValidationError(
            f"symptom site {site!r} is not allowed (allowed: {', '.join(SYMPTOM_SITES)}; "
            f"lower-limb sites watched by the alerts: {', '.join(s for s in SYMPTOM_SITES if s in LOWER_LIMB_SITES)})"
        )
    return key


def _side(side: str) -> str:
    key = str(side).strip().lower()
    if key not in SYMPTOM_SIDES:
        raise ValidationError(f"symptom side {side!r} is not allowed (allowed: {', '.join(SYMPTOM_SIDES)})")
    return key


def _severity(severity: Any) -> int:
    if isinstance(severity, bool) or not isinstance(severity, int):
        if isinstance(severity, float) and severity.is_integer():
            severity = int(severity)
        elif isinstance(severity, str) and severity.strip().isdigit():
            severity = int(severity.strip())
        else:
            raise ValidationError(f"symptom severity {severity!r} is not allowed (allowed: a whole number 0-10)")
    if not 0 <= severity <= 10:
        raise ValidationError(f"symptom severity {severity} is not allowed (allowed: a whole number 0-10)")
    return severity


def _instant(svc: Service, value: datetime | None, what: str) -> datetime:
    now = svc.clock()
    if value is None:
        return now.replace(microsecond=0)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{what} {value.isoformat()} has no time zone (give a local time with the athlete's zone)")
    if value > now:
        raise ValidationError(
            f"{what} {value.isoformat(timespec='minutes')} is in the future (now is {now.astimezone(value.tzinfo).isoformat(timespec='minutes')})"
        )
    return value


def _text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split()) if what == "location" else str(value).strip()
    if not value:
        return None
    if len(value) > limit:
        raise ValidationError(f"symptom {what} is {len(value)} characters long (allowed: at most {limit})")
    return value


def add_symptom(svc: Service, athlete: Athlete, site: str, side: str, location: str | None, severity: int | str,
                at: datetime | None = None, note: str | None = None) -> Symptom:
    """Log a symptom that started at ``at`` (default: now). Returns the stored symptom.

    Callers that want alerts to reflect it run :func:`loadmon.service.after_store.after_change`
    afterwards (the CLI does): a hilly run after ``at`` may now trip ``hilly_after_symptoms``.
    """
    site = normalise_site(site)
    side = _side(side)
    severity = _severity(severity)
    location = _text(location, "location", MAX_LOCATION_CHARS)
    note = _text(note, "note", MAX_NOTE_CHARS)
    started = _instant(svc, at, "symptom start")
    return svc.store.add_symptom(athlete.id, site=site, side=side, location=location, severity=severity,
                                 started_at=started, note=note)


def list_symptoms(svc: Service, athlete: Athlete, *, active_at: datetime | None = None) -> list[Symptom]:
    """The athlete's symptoms, oldest first; with ``active_at`` only those active then."""
    symptoms = svc.store.list_symptoms(athlete.id)
    if active_at is not None:
        symptoms = [s for s in symptoms if s.started_at <= active_at and (s.resolved_at is None or s.resolved_at > active_at)]
    return symptoms


def _own(svc: Service, athlete: Athlete, symptom_id: int) -> Symptom:
    """The athlete's symptom ``symptom_id``; another athlete's id is not found, like a missing one."""
    existing = {s.id: s for s in svc.store.list_symptoms(athlete.id)}
    symptom = existing.get(symptom_id)
    if symptom is None:
        ids = ", ".join(str(i) for i in existing) or "none"
        raise NotFoundError(f"no symptom with id {symptom_id} for athlete {athlete.name} (symptom ids: {ids})")
    return symptom


def resolve_symptom(svc: Service, athlete: Athlete, symptom_id: int, at: datetime | None = None) -> Symptom:
    """Mark a symptom resolved at ``at`` (default: now); a second call corrects the time."""
    symptom = _own(svc, athlete, symptom_id)
    when = _instant(svc, at, "resolve time")
    if when < symptom.started_at:
        raise ValidationError(
            f"resolve time {when.isoformat(timespec='minutes')} is before the symptom started "
            f"({symptom.started_at.astimezone(when.tzinfo).isoformat(timespec='minutes')}); allowed: on or after the start"
        )
    return svc.store.resolve_symptom(athlete.id, symptom_id, when)


def update_severity(svc: Service, athlete: Athlete, symptom_id: int, severity: int | str, at: datetime | None = None,
                    note: str | None = None) -> Symptom:
    """Record how the symptom feels now (or at ``at``): a new reading in its severity history, e.g.
    the morning check-in. The reading must fall between the symptom's start and its resolve time
    (a resolved symptom takes no new readings: log a new symptom when pain comes back). Callers
    re-evaluate the alerts afterwards (``pain_next_morning``, ``returned_early`` read the history)."""
    symptom = _own(svc, athlete, symptom_id)
    value = _severity(severity)
    when = _instant(svc, at, "reading time")
    text = _text(note, "note", MAX_NOTE_CHARS)
    if when < symptom.started_at:
        raise ValidationError(
            f"reading time {when.isoformat(timespec='minutes')} is before symptom {symptom_id} started "
            f"({symptom.started_at.astimezone(when.tzinfo).isoformat(timespec='minutes')}); allowed: on or after the start")
    if symptom.resolved_at is not None and when > symptom.resolved_at:
        raise ValidationError(
            f"symptom {symptom_id} was resolved at "
            f"{symptom.resolved_at.astimezone(when.tzinfo).isoformat(timespec='minutes')}; a reading after that is not "
            "allowed (log a new symptom if the pain is back)")
    return svc.store.add_symptom_update(athlete.id, symptom.id, at=when, severity=value, note=text)


#: What ``edit_symptom`` changes: site, side, location, severity, at (the start), note.
EDITABLE = ("site", "side", "location", "severity", "at", "note")


def edit_symptom(svc: Service, athlete: Athlete, symptom_id: int, **changes: Any) -> Symptom:
    """Correct a wrongly logged symptom: only the given fields change, each validated as in
    :func:`add_symptom` (an empty ``location`` or ``note`` clears it). The start (``at``) must
    stay before the resolve time. Callers re-evaluate the alerts afterwards (the CLI does):
    an alert that depended on the old values is withdrawn when its condition no longer holds."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(f"symptom field(s) {', '.join(unknown)} cannot be edited (allowed: {', '.join(EDITABLE)})")
    if not changes:
        raise ValidationError(f"nothing to change: give at least one of {', '.join('--' + f for f in EDITABLE)}")
    symptom = _own(svc, athlete, symptom_id)
    values: dict[str, Any] = {}
    if "site" in changes:
        values["site"] = normalise_site(changes["site"])
    if "side" in changes:
        values["side"] = _side(changes["side"])
    if "severity" in changes:
        values["severity"] = _severity(changes["severity"])
    if "location" in changes:
        values["location"] = _text(changes["location"], "location", MAX_LOCATION_CHARS)
    if "note" in changes:
        values["note"] = _text(changes["note"], "note", MAX_NOTE_CHARS)
    if "at" in changes:
        if changes["at"] is None:
            raise ValidationError("symptom start: give a time ('YYYY-MM-DD HH:MM')")
        values["started_at"] = _instant(svc, changes["at"], "symptom start")
        if symptom.resolved_at is not None and values["started_at"] > symptom.resolved_at:
            raise ValidationError(
                f"symptom start {values['started_at'].isoformat(timespec='minutes')} is after it resolved "
                f"({symptom.resolved_at.astimezone(values['started_at'].tzinfo).isoformat(timespec='minutes')}); "
                "allowed: on or before the resolve time")
    return svc.store.update_symptom(athlete.id, symptom.id, **values)


def delete_symptom(svc: Service, athlete: Athlete, symptom_id: int) -> Symptom:
    """Delete a symptom logged by mistake (returns it as it was); re-evaluate alerts afterwards."""
    symptom = _own(svc, athlete, symptom_id)
    return svc.store.delete_symptom(athlete.id, symptom.id)


def symptom_json(s: Symptom, timezone_name: str) -> dict[str, Any]:
    """A symptom as JSON-ready data; times in the athlete's zone."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone_name)
    return {
        "id": s.id, "site": s.site, "side": s.side, "location": s.location, "severity": s.severity,
        "started_at": s.started_at.astimezone(tz).isoformat(),
        "resolved_at": s.resolved_at.astimezone(tz).isoformat() if s.resolved_at else None,
        "active": s.resolved_at is None, "lower_limb": s.site in LOWER_LIMB_SITES, "note": s.note,
        "severity_now": s.current_severity,
        "updates": [{"id": u.id, "at": u.at.astimezone(tz).isoformat(), "severity": u.severity, "note": u.note}
                    for u in s.updates],
    }
