"""The fake Strava answers like the recorded real responses (order, paging, headers, errors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import requests

from tests.strava.conftest import ATHLETE_ID, tokens_from
from tests.strava_server import summary_activity


def _load(shared_fixtures, name):
    return json.loads((shared_fixtures / "strava" / name).read_text())


def _get(server, token, path, **params):
    return requests.get(f"{server.url}/api/v3{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_listing_order_and_paging_match_the_recordings(shared_fixtures, strava_server) -> None:
    page1 = _load(shared_fixtures, "athlete_activities_after_page1.json")
    page2 = _load(shared_fixtures, "athlete_activities_after_page2.json")
    latest = _load(shared_fixtures, "athlete_activities_30.json")
    athlete = page1[0]["athlete"]["id"]
    assert {a["athlete"]["id"] for a in page1 + page2 + latest} == {athlete}
    for item in page1 + page2 + latest:
        strava_server.add_activity(item)
    token = tokens_from(strava_server, athlete).access_token

    # recorded: GET /athlete/activities?after=1517443200&page=N -> 10, 4, 0 items, oldest first
    for n, expected in ((1, page1), (2, page2), (3, [])):
        got = _get(strava_server, token, "/athlete/activities", after=1517443200, before=1525132800, page=n, per_page=10).json()
        assert [a["id"] for a in got] == [a["id"] for a in expected]
    # recorded: GET /athlete/activities (no parameters) -> the 30 newest, newest first
    got = _get(strava_server, token, "/athlete/activities").json()
    assert [a["id"] for a in got] == [a["id"] for a in latest]


def test_rate_limit_headers_and_error_bodies_have_the_recorded_shape(shared_fixtures, strava_server) -> None:
    meta = {m["file"]: m for m in _load(shared_fixtures, "http_meta.json")}
    recorded = meta["athlete_activities_30.json"]["response_headers"]
    token = tokens_from(strava_server).access_token
    reply = _get(strava_server, token, "/athlete/activities")
    for name in ("X-Ratelimit-Limit", "X-Ratelimit-Usage", "X-Readratelimit-Limit", "X-Readratelimit-Usage"):
        assert reply.headers[name].count(",") == recorded[name].count(",") == 1
    assert reply.headers["X-Readratelimit-Limit"] == recorded["X-Readratelimit-Limit"] == "100,1000"
    assert reply.headers["X-Readratelimit-Usage"] == "1,1"

    real_401 = _load(shared_fixtures, "error_401_unauthorized.http.json")
    fake_401 = _get(strava_server, "not-a-token", "/athlete/activities")
    assert fake_401.status_code == real_401["status"] == 401
    assert fake_401.json()["message"] == real_401["body"]["message"]
    assert set(fake_401.json()["errors"][0]) == set(real_401["body"]["errors"][0])

    real_404 = _load(shared_fixtures, "error_404_not_found.http.json")
    strava_server.streams_missing.add(1)
    strava_server.add_activity(summary_activity(1, athlete_id=ATHLETE_ID, start=datetime(2020, 1, 1, tzinfo=UTC)),
                               streams={"altitude": [1, 2]})
    fake_404 = _get(strava_server, token, "/activities/1/streams", keys="altitude", key_by_type="true")
    assert fake_404.status_code == real_404["status"] and fake_404.text == real_404["raw_body"]

    real_429 = _load(shared_fixtures, "error_429_rate_limit.http.json")
    strava_server.consume(200)
    fake_429 = _get(strava_server, token, "/athlete/activities")
    assert fake_429.status_code == 429 and fake_429.reason == real_429["reason"] == "OK"
    assert "X-Ratelimit-Usage" in fake_429.headers and "Retry-After" not in fake_429.headers
