"""The elevation profile beside each activity: stored at import, read back, replaced with its activity,
never another athlete's (on SQLite and, with LOADMON_TEST_DATABASE_URL, PostgreSQL)."""

from __future__ import annotations

import pytest

from loadmon.elevation import PROFILE_MAX_POINTS, elevation_profile
from loadmon.errors import NotFoundError
from loadmon.storage import Store
from tests.core.test_storage import rec

PROFILE = tuple((float(i * 10), 100.0 + (i % 37) * 1.5) for i in range(PROFILE_MAX_POINTS))


def test_a_profile_round_trips_and_listing_activities_leaves_it_out(store: Store) -> None:
    ann, bob = store.ensure_athlete("ann"), store.ensure_athlete("bob")
    out = store.record_import(ann.id, path="a.fit", content_hash="a", records=[rec(profile=PROFILE)], outcome="imported")
    (activity_id,) = out.activity_ids
    assert store.activity_profile(ann.id, activity_id) == PROFILE
    assert not hasattr(store.list_activities(ann.id)[0], "profile")
    with pytest.raises(NotFoundError):
        store.activity_profile(bob.id, activity_id)
    with pytest.raises(NotFoundError):
        store.activity_profile(ann.id, activity_id + 1000)


def test_no_profile_is_none_and_a_better_copy_replaces_it(store: Store) -> None:
    ann = store.ensure_athlete("ann")
    out = store.record_import(ann.id, path="a.fit", content_hash="a", records=[rec(source="strava", content_hash="a")], outcome="imported")
    (activity_id,) = out.activity_ids
    assert store.activity_profile(ann.id, activity_id) is None
    short = PROFILE[:3]
    store.upsert_activity(ann.id, rec(source="strava", content_hash="b", distance_m=10_100.0, profile=short))
    assert store.activity_profile(ann.id, activity_id) == short
    store.upsert_activity(ann.id, rec(source="strava", content_hash="c", distance_m=10_200.0, profile=None))
    assert store.activity_profile(ann.id, activity_id) is None


def test_elevation_profile_thins_to_the_limit_keeping_both_ends() -> None:
    points = [(float(i), 50.0 + i / 100) for i in range(10_000)] + [(5.0, 999.0), (None, 1.0), (3.0, float("nan"))]
    profile = elevation_profile(points)
    assert profile is not None and len(profile) == PROFILE_MAX_POINTS
    assert profile[0][0] == 0.0 and profile[-1][0] == 9999.0
    assert all(b[0] > a[0] for a, b in zip(profile, profile[1:], strict=False))
    assert all(50.0 <= alt <= 150.0 for _, alt in profile)  # the reset point (5 m, 999 m) is dropped
    assert elevation_profile([(0.0, 10.0)]) is None
    assert elevation_profile([(0.0, -500.0), (10.0, -500.0)]) is None


@pytest.mark.slow
def test_a_fit_file_with_altitude_gives_a_profile_and_one_without_gives_none() -> None:
    from datetime import UTC, datetime

    from connectors.fit import read_fit
    from connectors.fit.factory import RunSpec, encode_activity

    start = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
    hilly = RunSpec(start=start, distance_m=21_000.0, duration_s=7200, altitude_profile=[(0.0, 50.0), (0.5, 250.0), (1.0, 60.0)])
    (run,) = read_fit(encode_activity(hilly), name="hilly.fit").activities
    assert run.profile is not None and len(run.profile) == PROFILE_MAX_POINTS  # 7200 records thinned to 500
    assert run.profile[0][0] == 0.0 and run.profile[-1][0] == pytest.approx(21_000.0, abs=5.0)
    assert max(a for _, a in run.profile) == pytest.approx(250.0, abs=5.0)
    (flat,) = read_fit(encode_activity(RunSpec(start=start, distance_m=5000.0, duration_s=1500)), name="flat.fit").activities
    assert flat.profile is None
