"""Local days: late runs far from UTC, DST changes, consecutive daily series."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from loadmon.engine import compute_load, local_date_of
from tests.engine.engine_builders import activity, athlete

UTC = UTC


def test_local_date_of_far_from_utc():
    # 23:30 in Auckland (NZDT, +13) on 2024-01-15 is 10:30 UTC the same day
    assert local_date_of(datetime(2024, 1, 15, 10, 30, tzinfo=UTC), "Pacific/Auckland") == date(2024, 1, 15)
    # 00:30 in Auckland on 2024-01-16 is 11:30 UTC on the 15th: the local day is the 16th
    assert local_date_of(datetime(2024, 1, 15, 11, 30, tzinfo=UTC), "Pacific/Auckland") == date(2024, 1, 16)
    # 23:30 in Los Angeles (PST, -8) on 2024-01-15 is 07:30 UTC on the 16th
    assert local_date_of(datetime(2024, 1, 16, 7, 30, tzinfo=UTC), "America/Los_Angeles") == date(2024, 1, 15)
    # any aware offset is accepted
    plus2 = timezone(timedelta(hours=2))
    assert local_date_of(datetime(2024, 1, 16, 1, 0, tzinfo=plus2), "UTC") == date(2024, 1, 15)


def test_local_date_of_rejects_naive_and_unknown_zone():
    with pytest.raises(ValueError, match="naive"):
        local_date_of(datetime(2024, 1, 1, 8, 0), "UTC")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        local_date_of(datetime(2024, 1, 1, 8, 0, tzinfo=UTC), "Mars/Olympus")


def test_london_dst_edges():
    # spring forward 2024-03-31 01:00 GMT -> 02:00 BST; fall back 2024-10-27 02:00 BST -> 01:00 GMT
    assert local_date_of(datetime(2024, 3, 30, 23, 30, tzinfo=UTC), "Europe/London") == date(2024, 3, 30)
    assert local_date_of(datetime(2024, 3, 31, 23, 30, tzinfo=UTC), "Europe/London") == date(2024, 4, 1)  # BST
    assert local_date_of(datetime(2024, 10, 26, 23, 30, tzinfo=UTC), "Europe/London") == date(2024, 10, 27)  # BST
    assert local_date_of(datetime(2024, 10, 27, 23, 30, tzinfo=UTC), "Europe/London") == date(2024, 10, 27)  # GMT


@pytest.mark.parametrize(
    ("tz", "at", "utc_day"),
    [
        ("America/Los_Angeles", time(23, 30), date(2024, 1, 16)),  # 07:30 UTC next day
        ("Pacific/Auckland", time(23, 30), date(2024, 1, 15)),  # 10:30 UTC same day
        ("Pacific/Auckland", time(6, 0), date(2024, 1, 14)),  # 17:00 UTC the day before
    ],
)
def test_run_counts_on_its_local_day(tz, at, utc_day):
    late = activity(date(2024, 1, 15), km=12, at=at, tz=tz)
    assert late.start_time.astimezone(UTC).date() == utc_day
    r = compute_load([activity(date(2024, 1, 14), km=5, tz=tz), late], athlete(tz=tz))
    assert r.day("distance_km", date(2024, 1, 15)).load == pytest.approx(12.0)
    assert r.day("distance_km", date(2024, 1, 14)).load == pytest.approx(5.0)
    assert r.last_day == date(2024, 1, 15)


@pytest.mark.parametrize(("first", "last"), [(date(2024, 3, 1), date(2024, 4, 30)), (date(2024, 10, 1), date(2024, 11, 30))])
def test_dst_change_neither_shifts_nor_drops_a_day(first, last):
    tz = "Europe/London"
    acts = []
    d = first
    while d <= last:
        # one run per day at 00:30 local (the hour most exposed to an offset error) and 23:30
        acts.append(activity(d, km=3, at=time(0, 30), tz=tz))
        acts.append(activity(d, km=4, at=time(23, 30), tz=tz))
        d += timedelta(days=1)
    r = compute_load(acts, athlete(tz=tz))
    dates = r.dates
    assert dates[0] == first and dates[-1] == last
    assert all((b - a).days == 1 for a, b in zip(dates, dates[1:]))
    assert len(dates) == (last - first).days + 1 == len(r.channels["distance_km"])
    assert all(x == pytest.approx(7.0) for x in r.channels["distance_km"].column("load"))
