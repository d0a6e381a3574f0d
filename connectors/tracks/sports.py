"""The sport of a GPX ``<type>`` or a TCX ``Sport`` (free text, or Strava's numeric code in its GPX export)."""

from __future__ import annotations

__all__ = ["track_sport", "STRAVA_GPX_CODES"]

#: Strava's activity type codes as its GPX export writes them in ``<trk><type>`` (1 = Ride, 9 = Run, ...).
STRAVA_GPX_CODES: dict[str, str] = {
    "1": "cycling",
    "2": "alpine_skiing",
    "4": "hiking",
    "5": "inline_skating",
    "9": "running",
    "10": "walking",
    "16": "swimming",
    "17": "cycling",
}
_WORDS: tuple[tuple[str, str], ...] = (
    ("trail", "trail_running"),
    ("treadmill", "treadmill_running"),
    ("run", "running"),
    ("jog", "running"),
    ("bik", "cycling"),
    ("cycl", "cycling"),
    ("ride", "cycling"),
    ("biking", "cycling"),
    ("hik", "hiking"),
    ("walk", "walking"),
    ("swim", "swimming"),
    ("row", "rowing"),
    ("ski", "cross_country_skiing"),
)


def track_sport(text: str | None) -> str:
    """``"Running"``, ``"running"``, ``"9"`` -> ``running``; ``"mountain biking"`` -> ``cycling``; nothing -> ``generic``."""
    if not text:
        return "generic"
    t = text.strip().lower().replace("-", " ").replace("_", " ")
    if t in STRAVA_GPX_CODES:
        return STRAVA_GPX_CODES[t]
    if t in ("trail run", "trail running", "trailrun"):
        return "trail_running"
    for word, sport in _WORDS:
        if word in t:
            return sport
    return "generic"
