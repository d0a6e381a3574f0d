"""Descent from the altitude stream vs the device, and one run from two sources counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.fit.factory import RunSpec, encode_activity
from loadmon.domain import ElevationSource
from loadmon.service import imports, load, strava_sync
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import summary_activity

STRAVA_ID = 3183490558  # the Strava activity of fit/run_coros_half_marathon_hilly.fit


def _fit_session_and_streams(data_or_path) -> tuple[dict, dict[str, list]]:
    """The session message and Strava-shaped streams (time, distance, altitude, heartrate) of a FIT file."""
    import io

    import fitdecode

    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path)
    session: dict = {}
    rows: list[dict] = []
    with fitdecode.FitReader(source) as reader:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            values = {f.name: f.value for f in frame.fields}
            if frame.name == "session":
                session = values
            elif frame.name == "record" and values.get("timestamp") is not None:
                rows.append(values)
    t0 = rows[0]["timestamp"]
    streams = {
        "time": [int((r["timestamp"] - t0).total_seconds()) for r in rows],
        "distance": [r.get("distance") for r in rows],
        "altitude": [r.get("enhanced_altitude", r.get("altitude")) for r in rows],
        "heartrate": [r.get("heart_rate") for r in rows],
    }
    return session, streams


def _strava_run(session: dict, activity_id: int, *, start: datetime, **kw) -> dict:
    return summary_activity(activity_id, athlete_id=ATHLETE_ID, start=start, distance_m=float(session["total_distance"]),
                            moving_time_s=int(session["total_timer_time"]),
                            total_elevation_gain=float(session["total_ascent"]), **kw)


HILLY = RunSpec(start=datetime(2030, 1, 1, tzinfo=UTC), distance_m=14_000.0, duration_s=4_800, record_interval_s=2,
                altitude_profile=[(0.0, 420.0), (0.2, 610.0), (0.35, 480.0), (0.6, 700.0), (0.8, 455.0), (1.0, 420.0)])


def test_descent_from_a_generated_hilly_run_is_within_10_percent_of_the_device(svc, athlete, strava_server,
                                                                               sim_clock) -> None:
    session, streams = _fit_session_and_streams(encode_activity(HILLY))
    act = _strava_run(session, 4242_0001, start=sim_clock.now() - timedelta(days=2))
    strava_server.add_activity(act, streams=streams)
    strava_sync.sync(svc, athlete)
    (stored,) = svc.store.list_activities(athlete.id)
    assert stored.elevation_source is ElevationSource.COMPUTED
    assert stored.elevation_loss_m == pytest.approx(float(session["total_descent"]), rel=0.10)


@pytest.mark.slow
def test_descent_of_the_real_coros_half_marathon_is_within_10_percent_of_the_device(shared_fixtures, svc, athlete,
                                                                                    strava_server) -> None:
    session, streams = _fit_session_and_streams(shared_fixtures / "fit" / "run_coros_half_marathon_hilly.fit")
    act = _strava_run(session, STRAVA_ID, start=session["start_time"])
    strava_server.add_activity(act, streams=streams)
    out = strava_sync.backfill(svc, athlete, alerts=False)
    assert out["new"] == 1
    (stored,) = svc.store.list_activities(athlete.id)
    device = float(session["total_descent"])
    assert stored.elevation_source is ElevationSource.COMPUTED
    assert stored.elevation_loss_m == pytest.approx(device, rel=0.10)
    print(f"\ncoros half marathon through the service: descent {stored.elevation_loss_m} m from the stream vs "
          f"{device} m on the device ({(stored.elevation_loss_m / device - 1) * 100:+.1f} %)")


@pytest.mark.slow
@pytest.mark.parametrize("order", ["fit_first", "strava_first"])
@pytest.mark.parametrize("match", ["time_and_distance", "external_id"])
def test_one_run_from_two_sources_counts_once_and_the_device_descent_wins(svc, athlete, strava_server, sim_clock,
                                                                          tmp_path, order, match) -> None:
    start = (sim_clock.now() - timedelta(days=2)).replace(microsecond=0)
    spec = RunSpec(start=start, distance_m=HILLY.distance_m, duration_s=HILLY.duration_s, record_interval_s=2,
                   altitude_profile=HILLY.altitude_profile)
    data = encode_activity(spec)
    path = tmp_path / "morning_hills.fit"
    path.write_bytes(data)
    session, streams = _fit_session_and_streams(data)
    if match == "time_and_distance":  # recorded by another app: 20 s apart, 1.5 % longer, another file name
        act = _strava_run(session, 4242_0002, start=start + timedelta(seconds=20), external_id="garmin_push_991")
        act["distance"] = spec.distance_m * 1.015
    else:  # the FIT file itself was uploaded to Strava (start shifted by a time-zone glitch)
        act = _strava_run(session, 4242_0002, start=start + timedelta(minutes=3), external_id="morning_hills.fit")
    strava_server.add_activity(act, streams=streams)

    if order == "fit_first":
        imports.import_paths(svc, athlete, [path])
        strava_sync.sync(svc, athlete)
    else:
        strava_sync.sync(svc, athlete)
        imports.import_paths(svc, athlete, [path])

    stored = svc.store.list_activities(athlete.id)
    assert len(stored) == 2
    by_source = {a.source: a for a in stored}
    fit, strava = by_source["fit"], by_source["strava"]
    assert fit.duplicate_of is None and strava.duplicate_of == fit.id  # the device's record is the primary
    assert fit.elevation_source is ElevationSource.DEVICE and fit.elevation_loss_m == session["total_descent"]
    if order == "fit_first":  # the file covers the run: no streams request, the gain stands in (not counted)
        assert strava.elevation_source is ElevationSource.ESTIMATED and not strava_server.requests(r"/streams$")
    else:
        assert strava.elevation_source is ElevationSource.COMPUTED
    channels = load.status(svc, athlete)["channels"]
    assert channels["distance_km"]["acute_7d"] == pytest.approx(spec.distance_m / 1000, rel=1e-6)  # counted once
    assert channels["descent_m"]["acute_7d"] == pytest.approx(session["total_descent"])  # the device's descent
