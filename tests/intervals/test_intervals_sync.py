"""`loadmon intervals sync` against a local intervals.icu-compatible server (tests/intervals_server.py): the
files come in through the import path, incremental and resumable, deduplicated against the other sources."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from connectors.fit.factory import RunSpec, encode_activity
from loadmon.cli import app
from loadmon.service import Service
from loadmon.service import intervals as intervals_service
from loadmon.service.imports import import_paths
from loadmon.storage import Store
from tests.conftest import make_config
from tests.intervals_server import IntervalsServer, ServedActivity
from tests.tracks.trackgen import gpx_bytes

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def spec(i: int, km: float = 10.0) -> RunSpec:
    return RunSpec(
        start=NOW - timedelta(days=20 - 3 * i),
        distance_m=km * 1000,
        duration_s=int(km * 330),
        serial=500 + i,
        record_interval_s=5,
        altitude_profile=[(0.0, 50.0), (0.5, 110.0), (1.0, 50.0)],
    )


@pytest.fixture
def server():
    s = IntervalsServer()
    s.activities = {
        "i1": ServedActivity(activity_id="i1", start=spec(0).start, original=gzip.compress(encode_activity(spec(0))), name="Easy run"),
        "i2": ServedActivity(activity_id="i2", start=spec(1).start, original=gpx_bytes(spec(1)), name="Phone run", source="UPLOAD"),
        "i3": ServedActivity(activity_id="i3", start=spec(2).start, fit=encode_activity(spec(2)), name="No original"),
        "i4": ServedActivity(activity_id="i4", start=spec(3).start, source="STRAVA", name="From Strava"),
        "i5": ServedActivity(
            activity_id="i5", start=spec(4).start, original=encode_activity(spec(4, 12.0)), type="Ride", name="Relabelled"
        ),
    }
    s.start()
    yield s
    s.stop()


@pytest.fixture
def svc(tmp_path, server):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    cfg = make_config(
        tmp_path, url, intervals={"athlete_id": server.athlete_id, "api_key": server.api_key, "api_url": server.url, "min_interval_s": 0.0}
    )
    service = Service(config=cfg, store=Store.open(url), clock=lambda: NOW, sleep=lambda s: None)
    yield service
    service.close()


def test_sync_stores_each_file_once_and_a_second_sync_downloads_nothing(svc, server) -> None:
    athlete = svc.athlete()
    first = intervals_service.sync(svc, athlete)
    assert (first.listed, first.imported, first.strava_only, first.failed) == (5, 4, 1, 0)
    stored = {a.external_id: a for a in svc.store.list_activities(athlete.id)}
    assert set(stored) == {"intervals:i1", "intervals:i2", "intervals:i3", "intervals:i5"}
    assert stored["intervals:i2"].source == "gpx" and stored["intervals:i1"].name == "Easy run"
    assert stored["intervals:i5"].sport == "cycling"  # intervals.icu's type wins
    assert "/api/v1/activity/i3/fit-file" in server.downloads()  # no original: intervals.icu's FIT
    assert not [p for p in server.downloads() if "/i4/" in p]  # Strava's: never asked for
    before = len(server.requests)
    second = intervals_service.sync(svc, athlete)
    # listed from the cursor minus 2 days: the newest activity, done already; the listing is the only request
    assert (second.imported, second.already_done, second.requests) == (0, 1, 1)
    assert len(server.requests) == before + 1
    since = intervals_service.sync(svc, athlete, since=(NOW - timedelta(days=60)).date())  # re-read everything
    assert (since.listed, since.imported, since.duplicate, since.already_done) == (5, 0, 3, 2)  # stored once


def test_a_sync_stopped_by_the_rate_limit_goes_on_where_it_stopped(svc, server) -> None:
    athlete = svc.athlete()
    server.faults["/api/v1/activity/i2/file"] = [429, 429, 429]  # waited out twice, then given up
    first = intervals_service.sync(svc, athlete)
    assert first.stopped and "429" in first.stopped and first.imported == 1
    second = intervals_service.sync(svc, athlete)
    assert second.stopped is None and second.imported == 3 and second.already_done == 1
    assert server.downloads().count("/api/v1/activity/i1/file") == 1  # nothing downloaded twice
    assert len(svc.store.list_activities(athlete.id)) == 4


def test_a_broken_file_fails_alone_and_a_server_error_is_that_activity_s(svc, server) -> None:
    server.activities["i2"].original = b"<gpx><trk><trkseg><trkpt lat='1' lon='2'></trk></gpx>"
    server.faults["/api/v1/activity/i3/file"] = [500]
    result = intervals_service.sync(svc, svc.athlete())
    assert result.failed == 2 and result.imported == 2
    reasons = dict(result.failures)
    assert "not well-formed XML" in reasons["i2"] and "HTTP 500" in reasons["i3"]


def test_the_same_run_from_another_source_counts_once(svc, server, tmp_path) -> None:
    athlete = svc.athlete()
    (tmp_path / "watch.fit").write_bytes(gzip.decompress(server.activities["i1"].original or b""))
    (tmp_path / "phone.fit").write_bytes(encode_activity(spec(1)))  # the phone run as the watch's FIT
    import_paths(svc, athlete, [tmp_path / "watch.fit", tmp_path / "phone.fit"])
    result = intervals_service.sync(svc, athlete)
    assert result.duplicate == 1  # i1: the same bytes as watch.fit
    counted = [a for a in svc.store.list_activities(athlete.id) if a.duplicate_of is None]
    assert len(counted) == 4  # i2's GPX and phone.fit are one run; i3, i5 new


def test_a_wrong_key_stops_with_the_keys_named_and_never_shows_the_key(tmp_path, server) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n[intervals]\n'
        f'athlete_id = "{server.athlete_id}"\napi_key = "wrong-key-987654321"\napi_url = "{server.url}"\n'
        "min_interval_s = 0\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["--config", str(config), "intervals", "sync", "--json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert "intervals.athlete_id and intervals.api_key" in out["stopped"] and "wrong-key" not in res.output
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["--config", str(config), "intervals", "sync"])
    assert res.exit_code == 2 and "intervals.athlete_id" in res.output and "Traceback" not in res.output
