"""Sport vocabulary: which sports count as running (distance, descent) and as foot sports."""

from __future__ import annotations

# FIT sport names (lower-case) and Strava sport_type names map onto these.
RUNNING_SPORTS: frozenset[str] = frozenset({"running", "trail_running", "virtual_running", "track_running", "treadmill_running"})
FOOT_SPORTS: frozenset[str] = RUNNING_SPORTS | {"walking", "hiking", "mountaineering"}

_STRAVA_TO_SPORT = {
    "Run": "running",
    "TrailRun": "trail_running",
    "VirtualRun": "virtual_running",
    "Walk": "walking",
    "Hike": "hiking",
    "Ride": "cycling",
    "MountainBikeRide": "cycling",
    "GravelRide": "cycling",
    "EBikeRide": "cycling",
    "EMountainBikeRide": "cycling",
    "VirtualRide": "cycling",
    "Swim": "swimming",
}


def normalise_strava_sport(sport_type: str | None) -> str:
    """Map a Strava ``sport_type`` (or legacy ``type``) to loadmon's sport name."""
    if not sport_type:
        return "generic"
    return _STRAVA_TO_SPORT.get(sport_type, sport_type.lower())


def normalise_fit_sport(sport: str | None, sub_sport: str | None = None) -> str:
    """Map a FIT sport/sub_sport pair to loadmon's sport name (trail runs stay running-family)."""
    if not sport:
        return "generic"
    s = str(sport).lower()
    sub = str(sub_sport).lower() if sub_sport else ""
    if s == "running" and sub in {"trail", "treadmill", "track", "virtual_activity"}:
        return {"trail": "trail_running", "treadmill": "treadmill_running", "track": "track_running",
                "virtual_activity": "virtual_running"}[sub]
    return s


def is_running(sport: str, running_sports: frozenset[str] = RUNNING_SPORTS) -> bool:
    return sport in running_sports


def is_foot_sport(sport: str) -> bool:
    return sport in FOOT_SPORTS
