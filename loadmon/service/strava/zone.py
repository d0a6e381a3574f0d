"""An athlete whose time zone was never set takes it from their Strava activities.

Strava's API gives no time zone in the athlete profile, but every activity carries one
(``timezone``: "(GMT+00:00) Europe/London", read by :func:`connectors.strava.mapping.zone_name`).
An athlete still on the default zone (``UTC``, with ``[athlete] timezone`` left at ``UTC``) takes
the zone of the newest activity of the first Strava page that has one, once: from then on the
zone is set and only ``loadmon athlete set --timezone`` changes it. The zone decides "today" and
the local day of an activity whose own local time is unknown (see docs/metrics.md); activities
with a local start time count on their own day whatever the zone.
"""

from __future__ import annotations

from collections.abc import Sequence

from loadmon.domain import ActivityRecord, Athlete
from loadmon.logs import get_logger
from loadmon.service.context import Service

__all__ = ["DEFAULT_ZONE", "adopt_zone"]

DEFAULT_ZONE = "UTC"
log = get_logger("loadmon.strava")


def adopt_zone(svc: Service, athlete: Athlete, records: Sequence[ActivityRecord]) -> Athlete:
    """``athlete`` with the zone of the newest of ``records`` that has one, when its zone was never set."""
    if athlete.timezone != DEFAULT_ZONE or svc.config.athlete.timezone != DEFAULT_ZONE:
        return athlete
    zoned = [(r.start_time, str(r.extra["timezone"])) for r in records if r.extra.get("timezone")]
    if not zoned:
        return athlete
    _, zone = max(zoned)
    if zone in (DEFAULT_ZONE, "Etc/UTC"):
        return athlete
    updated = svc.set_athlete(athlete, timezone_name=zone)
    log.info("strava.timezone_adopted", athlete_id=athlete.id, timezone=zone)
    return updated
