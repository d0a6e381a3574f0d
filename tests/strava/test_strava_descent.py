"""Descent from real Strava streams vs the device's own total_descent of the same run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests

from connectors.fit import read_fit
from loadmon.domain import ElevationSource
from loadmon.elevation import gain_loss
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import hill_streams, summary_activity

STRAVA_ID = 3183490558  # the Strava activity of fit/run_coros_half_marathon_hilly.fit


def _fit_session_and_altitudes(path) -> tuple[dict, list[float | None]]:
    fitdecode = pytest.importorskip("fitdecode")
    session: dict = {}
    altitudes: list[float | None] = []
    with fitdecode.FitReader(str(path)) as reader:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            if frame.name == "session":
                session = {f.name: f.value for f in frame.fields}
            elif frame.name == "record":
                values = {f.name: f.value for f in frame.fields}
                altitudes.append(values.get("enhanced_altitude", values.get("altitude")))
    return session, altitudes


@pytest.mark.slow
def test_strava_streams_descent_within_10_percent_of_the_device(shared_fixtures, strava_server, make_connector) -> None:
    session, fit_altitudes = _fit_session_and_altitudes(shared_fixtures / "fit" / "run_coros_half_marathon_hilly.fit")
    reshaped = json.loads((shared_fixtures / "strava" / "streams_reshaped_run_3183490558.json").read_text())
    act = summary_activity(STRAVA_ID, athlete_id=ATHLETE_ID, start=datetime(2020, 3, 15, 8, 0, tzinfo=UTC),
                           distance_m=float(session["total_distance"]), total_elevation_gain=float(session["total_ascent"]))
    strava_server.add_activity(act, streams={k: reshaped[k] for k in ("time", "distance", "altitude", "heartrate")})

    (page,) = list(make_connector().iter_activity_pages())
    (rec,) = page.records
    device_descent = float(session["total_descent"])
    assert rec.elevation_source is ElevationSource.COMPUTED
    assert rec.elevation_loss_m == pytest.approx(device_descent, rel=0.10)
    # Same run, same computation: Strava's stream and the FIT records agree (Strava only fills gaps).
    fit_gain, fit_loss = gain_loss(fit_altitudes)
    assert rec.elevation_loss_m == pytest.approx(fit_loss, rel=0.01)
    assert rec.extra["stream_gain_m"] == pytest.approx(fit_gain, rel=0.01)
    # the steep part (-8 % or steeper) agrees with the FIT records of the same run too
    (fit_run,) = read_fit((shared_fixtures / "fit" / "run_coros_half_marathon_hilly.fit").read_bytes(),
                          name="coros.fit").activities
    assert rec.steep_descent_m == pytest.approx(fit_run.steep_descent_m, rel=0.05)
    assert 0 < rec.steep_descent_m < rec.elevation_loss_m
    print(f"\nStrava stream of {STRAVA_ID}: steep descent {rec.steep_descent_m} m (FIT {fit_run.steep_descent_m} m); loss {rec.elevation_loss_m} m, gain {rec.extra['stream_gain_m']} m; "
          f"FIT records: loss {fit_loss} m, gain {fit_gain} m; device session: descent {device_descent} m, "
          f"ascent {session['total_ascent']} m ({(rec.elevation_loss_m / device_descent - 1) * 100:+.1f} %)")


def test_key_by_type_shape_is_what_the_server_serves(shared_fixtures, strava_server, make_connector) -> None:
    """The fake serves streams in the shape of the recorded real response (key_by_type)."""
    real = json.loads((shared_fixtures / "strava" / "activity_streams_1946417534_key_by_type.json").read_text())
    assert set(real) == {"distance"}
    strava_server.add_activity(summary_activity(1946417534, athlete_id=ATHLETE_ID, start=datetime(2018, 11, 4, 14, tzinfo=UTC)),
                               streams={"distance": real["distance"]["data"]})
    conn = make_connector()
    reply = requests.get(f"{strava_server.url}/api/v3/activities/1946417534/streams?key_by_type=true",
                         headers={"Authorization": f"Bearer {conn.tokens.access_token}"})
    body = reply.json()
    assert set(body) == set(real)
    assert set(body["distance"]) == set(real["distance"])
    assert body["distance"]["original_size"] == real["distance"]["original_size"]
    assert conn.fetch_descent(1946417534, total_elevation_gain_m=270.9).source is ElevationSource.ESTIMATED


def test_steep_descent_needs_the_distance_stream_and_never_costs_the_descent(strava_server, make_connector) -> None:
    start = datetime(2024, 4, 2, 7, 0, tzinfo=UTC)
    steep = hill_streams(121, climb_m=120.0, step_m=10.0)  # 600 m up and 600 m down at 20 %
    gentle = hill_streams(121, climb_m=30.0, step_m=10.0)  # at 5 %
    no_distance = {k: v for k, v in steep.items() if k != "distance"}
    bad_distance = {**steep, "distance": ["far"] * 121}
    for aid, streams in ((1, steep), (2, gentle), (3, no_distance), (4, bad_distance)):
        strava_server.add_activity(summary_activity(aid, athlete_id=ATHLETE_ID, start=start.replace(day=aid),
                                                    distance_m=1200.0, total_elevation_gain=120.0), streams=streams)
    (page,) = list(make_connector().iter_activity_pages())
    by_id = {r.source_id: r for r in page.records}
    assert all(r.elevation_source is ElevationSource.COMPUTED for r in by_id.values())
    assert by_id[1].elevation_loss_m == pytest.approx(120.0, abs=6.0)  # the 9-sample smoothing rounds the summit
    assert by_id[1].steep_descent_m == pytest.approx(by_id[1].elevation_loss_m, abs=3.0)
    assert by_id[2].elevation_loss_m == pytest.approx(30.0, abs=2.0) and by_id[2].steep_descent_m == 0.0
    for aid in (3, 4):  # the descent stands, the steep part is unknown (None, never 0)
        assert by_id[aid].elevation_loss_m == by_id[1].elevation_loss_m and by_id[aid].steep_descent_m is None


def test_the_elevation_profile_comes_from_the_distance_and_altitude_streams(strava_server, make_connector) -> None:
    start = datetime(2024, 4, 2, 7, 0, tzinfo=UTC)
    hill = hill_streams(121, climb_m=120.0, step_m=10.0)
    no_distance = {k: v for k, v in hill.items() if k != "distance"}
    for aid, streams in ((1, hill), (2, no_distance)):
        strava_server.add_activity(summary_activity(aid, athlete_id=ATHLETE_ID, start=start.replace(day=aid),
                                                    distance_m=1200.0, total_elevation_gain=120.0), streams=streams)
    (page,) = list(make_connector().iter_activity_pages())
    by_id = {r.source_id: r for r in page.records}
    profile = by_id[1].profile
    assert profile is not None and len(profile) == 121
    assert [d for d, _ in profile] == sorted(d for d, _ in profile) and profile[-1][0] == pytest.approx(1200.0)
    top = max(a for _, a in profile) - min(a for _, a in profile)
    assert top == pytest.approx(120.0, abs=6.0)  # smoothed as the descent is
    assert by_id[2].profile is None  # no distance stream: no profile (the descent still stands)
