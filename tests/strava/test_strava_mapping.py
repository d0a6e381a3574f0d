"""Mapping real Strava JSON (shared fixtures) to ActivityRecord, directly and through the fake."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from connectors.strava import record_from_activity
from connectors.strava.mapping import map_items
from loadmon.domain import ElevationSource
from loadmon.errors import StravaMalformedError
from tests.strava.conftest import tokens_from


def _load(shared_fixtures, name):
    return json.loads((shared_fixtures / "strava" / name).read_text())


def test_athlete_activities_30(shared_fixtures) -> None:
    items = _load(shared_fixtures, "athlete_activities_30.json")
    records, errors = map_items(items)
    assert not errors and len(records) == 30
    assert sum(r.distance_m for r in records) == pytest.approx(456019.6)  # README figure
    assert sum(r.elevation_gain_m for r in records) == pytest.approx(2716, abs=0.5)
    assert sum(r.sport == "trail_running" for r in records) == 2
    assert {r.sport for r in records} == {"running", "trail_running"}
    assert sum(bool(r.private) for r in records) == 1  # visibility only_me
    assert all(r.avg_hr is not None and r.max_hr is not None for r in records)
    first = records[0]
    assert first.source == "strava" and first.source_id == 16181809559  # > 2**32
    assert first.start_time == datetime(2025, 10, 18, 12, 49, 52, tzinfo=UTC)
    assert first.utc_offset_s == -14400
    assert (first.moving_time_s, first.elapsed_time_s, first.elevation_gain_m) == (7772, 7792, 202.0)
    assert (first.avg_hr, first.max_hr) == (160, 174)  # 159.6 rounds to 160
    assert first.external_id == "garmin_ping_492266071674"
    assert first.elevation_source is ElevationSource.NONE and first.elevation_loss_m is None
    assert len({r.content_hash for r in records}) == 30


def test_2018_shape_without_sport_type_uses_type(shared_fixtures) -> None:
    items = _load(shared_fixtures, "athlete_activities_after_page1.json") + _load(shared_fixtures, "athlete_activities_after_page2.json")
    records, errors = map_items(items)
    assert not errors and len(records) == 14
    assert all(r.sport == "running" for r in records)
    assert all("sport_type" not in i for i in items)


def test_detailed_and_manual_activities(shared_fixtures) -> None:
    nyc = record_from_activity(_load(shared_fixtures, "detailed_activity_run_1946417534.json"))
    assert (nyc.device, nyc.avg_hr, nyc.max_hr) == ("Fitbit Ionic", 170, 187)
    assert (nyc.distance_m, nyc.moving_time_s, nyc.elapsed_time_s, nyc.elevation_gain_m) == (42268.1, 13085, 13333, 270.9)
    hike = record_from_activity(_load(shared_fixtures, "detailed_activity_manual_hike_96089609.json"))
    assert hike.sport == "hiking" and hike.extra["manual"] is True and hike.private is False


def test_content_hash_follows_the_used_fields_only(shared_fixtures) -> None:
    item = _load(shared_fixtures, "athlete_activities_30.json")[0]
    base = record_from_activity(item).content_hash
    assert record_from_activity(copy.deepcopy(item)).content_hash == base
    kudos = copy.deepcopy(item) | {"kudos_count": 99}
    assert record_from_activity(kudos).content_hash == base
    renamed = copy.deepcopy(item) | {"name": "Easy run"}
    assert record_from_activity(renamed).content_hash != base


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("id", "16181809559", "'id'"),
    ("start_date", None, "'start_date'"),
    ("moving_time", -5, "'moving_time'"),
    ("average_heartrate", "fast", "'average_heartrate'"),
    ("private", "yes", "'private'"),
])
def test_malformed_fields_name_the_activity_and_field(shared_fixtures, field, value, expected) -> None:
    item = _load(shared_fixtures, "athlete_activities_30.json")[0] | {field: value}
    with pytest.raises(StravaMalformedError) as err:
        record_from_activity(item)
    assert expected in str(err.value)
    assert "Run with Artyom" in str(err.value)


def test_real_listing_through_the_fake(shared_fixtures, strava_server, make_connector) -> None:
    items = _load(shared_fixtures, "athlete_activities_30.json")
    athlete = items[0]["athlete"]["id"]
    for item in items:
        strava_server.add_activity(item)
    conn = make_connector(tokens=tokens_from(strava_server, athlete))
    pages = list(conn.iter_activity_pages())
    records = [r for p in pages for r in p.records]
    assert sorted(r.source_id for r in records) == sorted(i["id"] for i in items)
    # no streams stored for these: every run falls back to the documented estimate
    assert all(r.elevation_source is ElevationSource.ESTIMATED and r.elevation_loss_m == r.elevation_gain_m for r in records)
    assert len(strava_server.requests(r"/streams$", status=404)) == 30
