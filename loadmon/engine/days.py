"""Athlete-local calendar days.

A "day" in loadmon is the athlete's local calendar day (load-science.md, "Windows and daily
series"): a run that starts at 23:30 local time counts on that local day, whatever the UTC
date. Daily series are built with ``date`` arithmetic (ordinals), so daylight-saving changes
can neither drop nor duplicate a day.

Pure: standard library only. ``local_date_of`` lives in :mod:`loadmon.domain` (storage fills
``Activity.local_date`` with it) and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from loadmon.domain import local_date_of

__all__ = ["local_date_of", "day_range"]


def day_range(first: date, last: date) -> Iterator[date]:
    """Every calendar day from ``first`` to ``last`` inclusive (empty if ``last < first``)."""
    one = timedelta(days=1)
    day = first
    while day <= last:
        yield day
        day += one
