"""An activity counts on its own local day (Strava start_date_local / utc_offset, FIT local_timestamp),
and an athlete whose zone was never set takes it from their Strava activities."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from connectors.strava.mapping import local_offset, record_from_activity, zone_name
from loadmon.domain import ActivityRecord, ElevationSource, activity_local_date, local_date_of
from loadmon.service import strava_sync
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import summary_activity

# 00:26 in London in summer (BST, UTC+1) is 23:26 UTC the day before
LATE = datetime(2026, 7, 4, 23, 26, tzinfo=UTC)


def test_a_run_at_00_26_in_london_counts_on_that_day() -> None:
    assert activity_local_date(LATE, 3600, "UTC") == date(2026, 7, 5)
    assert activity_local_date(LATE, None, "UTC") == date(2026, 7, 4)  # no local time: the athlete's zone
    assert activity_local_date(LATE, None, "Europe/London") == date(2026, 7, 5)
    assert activity_local_date(LATE, -7 * 3600, "Europe/London") == date(2026, 7, 4)  # run in California


def test_strava_local_start_gives_the_offset_and_the_zone_its_name() -> None:
    item = summary_activity(1, athlete_id=ATHLETE_ID, start=LATE, utc_offset_s=3600)
    assert record_from_activity(item, now=LATE + timedelta(days=1)).utc_offset_s == 3600
    item.pop("utc_offset")
    assert local_offset(item, LATE) == 3600
    assert record_from_activity(item, now=LATE + timedelta(days=1)).utc_offset_s == 3600
    assert zone_name("(GMT+01:00) Europe/Paris") == "Europe/Paris" and zone_name("Europe/London") == "Europe/London"
    assert zone_name("(GMT+01:00) Mars/Olympus") is None and zone_name(None) is None
    assert local_offset({"start_date_local": "garbage"}, LATE) is None


def _record(source_id: int, offset: int | None) -> ActivityRecord:
    return ActivityRecord(source="fit", source_id=source_id, sport="running", start_time=LATE, distance_m=5000.0,
                          moving_time_s=1500.0, elapsed_time_s=1500.0, elevation_source=ElevationSource.NONE,
                          utc_offset_s=offset, content_hash=f"h{source_id}")


def test_stored_days_follow_the_activity_and_a_zone_change_moves_only_those_without_one(store) -> None:
    athlete = store.ensure_athlete("ann", timezone_name="UTC")
    with_offset = store.upsert_activity(athlete.id, _record(1, 3600)).activity_id
    without = store.upsert_activity(athlete.id, _record(2, None)).activity_id
    assert store.get_activity(with_offset).local_date == date(2026, 7, 5)
    assert store.get_activity(without).local_date == date(2026, 7, 4)
    store.update_athlete(athlete.id, timezone="America/Los_Angeles")
    assert store.get_activity(with_offset).local_date == date(2026, 7, 5)  # where it was run
    assert store.get_activity(without).local_date == local_date_of(LATE, "America/Los_Angeles") == date(2026, 7, 4)
    store.update_athlete(athlete.id, timezone="Asia/Tokyo")
    assert store.get_activity(without).local_date == date(2026, 7, 5)


def test_an_athlete_on_the_default_zone_takes_it_from_the_activities(svc, athlete, strava_server, sim_clock) -> None:
    assert athlete.timezone == "UTC"
    now = sim_clock.now()
    late = (now - timedelta(days=3)).replace(hour=23, minute=26, second=0, microsecond=0)
    strava_server.add_activity(summary_activity(91, athlete_id=ATHLETE_ID, start=late, utc_offset_s=3600))
    out = strava_sync.sync(svc, athlete)
    assert out["new"] == 1
    adopted = svc.athlete(athlete.name)
    assert adopted.timezone == "Europe/Paris"  # the test server's activities are in Paris
    (stored,) = svc.store.list_activities(adopted.id)
    assert stored.local_date == (late + timedelta(hours=1)).date()  # 00:26 local: the next day
    svc.set_athlete(adopted, timezone_name="Europe/Lisbon")  # set by the runner: never replaced again
    strava_server.add_activity(summary_activity(92, athlete_id=ATHLETE_ID, start=late + timedelta(days=1)))
    sim_clock.advance(3600)
    strava_sync.sync(svc, svc.athlete(athlete.name))
    assert svc.athlete(athlete.name).timezone == "Europe/Lisbon"
