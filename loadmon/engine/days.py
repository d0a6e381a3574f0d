"""Athlete-local calendar days.

A "day" in loadmon is the athlete's local calendar day (load-science.md, "Windows and daily
series"): a run that starts at 23:30 local time counts on that local day, whatever the UTC
date. Daily series are built with ``date`` arithmetic (ordinals), so daylight-saving changes
can neither drop nor duplicate a day.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["local_date_of", "day_range"]


def local_date_of(start_time_utc: datetime, timezone: str) -> date:
    """The local calendar day, in IANA zone ``timezone``, of the instant ``start_time_utc``.

    ``start_time_utc`` must be timezone-aware (any offset; it is converted). DST-safe: the
    conversion goes through :mod:`zoneinfo`, so e.g. 2024-03-31 00:30 UTC is 2024-03-31 in
    Europe/London and 2024-10-26 22:30 UTC is 2024-10-26 23:30 BST.

    Raises ``ValueError`` for a naive datetime or an unknown zone name.
    """
    if start_time_utc.tzinfo is None or start_time_utc.utcoffset() is None:
        raise ValueError(f"start_time_utc: naive datetime {start_time_utc!r}; expected a timezone-aware instant")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: unknown IANA time zone {timezone!r}") from exc
    return start_time_utc.astimezone(zone).date()


def day_range(first: date, last: date) -> Iterator[date]:
    """Every calendar day from ``first`` to ``last`` inclusive (empty if ``last < first``)."""
    one = timedelta(days=1)
    day = first
    while day <= last:
        yield day
        day += one
