"""GPX and TCX through the import path of `loadmon import`: the same run as a FIT file gives the same
distance (within 1 %) and descent (within 10 %), is one activity across the sources, and .gz and zips work."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from connectors.fit.factory import RunSpec, encode_activity
from connectors.fit.reader import read_fit
from connectors.tracks import read_track
from loadmon.service.imports import import_paths
from tests.tracks.trackgen import gpx_bytes, tcx_bytes

START = datetime(2026, 5, 3, 7, 30, tzinfo=UTC)


def hilly(serial: int = 71, start: datetime = START) -> RunSpec:
    profile = [(0.0, 300.0), (0.2, 420.0), (0.35, 330.0), (0.6, 510.0), (0.8, 380.0), (1.0, 300.0)]
    return RunSpec(
        start=start,
        distance_m=14_000,
        duration_s=4800,
        avg_hr=150,
        max_hr=176,
        altitude_profile=profile,
        serial=serial,
        record_interval_s=2,
    )


@pytest.mark.parametrize("kind", ["gpx", "tcx"])
def test_the_same_run_as_fit_and_as_a_track_file_agree(kind) -> None:
    spec = hilly()
    (fit,) = read_fit(encode_activity(spec), name="run.fit", prefer_device_elevation=False).activities
    data = gpx_bytes(spec) if kind == "gpx" else tcx_bytes(spec)
    (track,) = read_track(data, name=f"run.{kind}", kind=kind).activities
    assert track.start_time == fit.start_time == START
    assert track.distance_m == pytest.approx(fit.distance_m, rel=0.01)
    assert track.elevation_loss_m == pytest.approx(fit.elevation_loss_m, rel=0.10)
    assert track.elevation_loss_m == pytest.approx(spec.profile_ascent_descent()[1], rel=0.10)
    assert track.steep_descent_m == pytest.approx(fit.steep_descent_m, rel=0.10, abs=5)
    assert (track.avg_hr, track.max_hr) == (fit.avg_hr, fit.max_hr) == (150, 176)
    assert track.elapsed_time_s == fit.elapsed_time_s == 4800
    assert track.moving_time_s == pytest.approx(4800, rel=0.01)  # never slower than 0.5 m/s: no pause
    assert track.sport == "running" and track.profile


def test_the_pause_rule_counts_a_standstill_out() -> None:
    spec = hilly()
    data = gpx_bytes(spec).decode()
    # stand still for 10 minutes halfway: every point after it 600 s later, the position repeated first
    head, tail = data.split("<trkpt", 1)
    points = ["<trkpt" + p for p in tail.split("<trkpt")]
    half = len(points) // 2

    def later(p: str) -> str:
        import re

        def shift(m: re.Match) -> str:
            t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ") + timedelta(seconds=600)
            return f"<time>{t:%Y-%m-%dT%H:%M:%SZ}</time>"

        return re.sub(r"<time>([^<]+)</time>", shift, p)

    still = later(points[half - 1].split("</trkseg>")[0])
    moved = "".join(points[:half]) + still + "".join(later(p) for p in points[half:])
    (track,) = read_track((head + moved).encode(), name="paused.gpx", kind="gpx").activities
    assert track.elapsed_time_s == 4800 + 600
    assert track.moving_time_s == pytest.approx(4800, rel=0.01)


@pytest.mark.slow
def test_import_reads_gpx_tcx_gz_and_zips_and_one_run_counts_once(svc, tmp_path) -> None:
    athlete = svc.athlete()
    folder = tmp_path / "exports"
    folder.mkdir()
    spec = hilly(serial=72)
    (folder / "run.fit").write_bytes(encode_activity(spec))
    (folder / "run.gpx.gz").write_bytes(gzip.compress(gpx_bytes(spec)))  # the same run from the phone app
    other = hilly(serial=73, start=START + timedelta(days=2))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("export/activities/2.tcx.gz", gzip.compress(tcx_bytes(other)))
        z.writestr("export/activities/3.gpx", b"<gpx><trk><trkseg><trkpt lat='1' lon='2'></trk></gpx>")  # broken
    (folder / "export.zip").write_bytes(buffer.getvalue())
    summary = import_paths(svc, athlete, [folder])
    outcomes = {r.name.rsplit("/", 1)[-1]: r.outcome for r in summary.files}
    assert outcomes == {"run.fit": "imported", "run.gpx.gz": "imported", "2.tcx.gz": "imported", "3.gpx": "failed"}
    broken = next(r for r in summary.files if r.name.endswith("3.gpx"))
    assert "not well-formed XML at line 1" in (broken.reason or "")
    stored = svc.store.list_activities(athlete.id)
    assert len(stored) == 3
    counted = [a for a in stored if a.duplicate_of is None]
    assert len(counted) == 2  # the FIT and GPX copies of one run count once
    copy = next(a for a in stored if a.duplicate_of is not None)
    assert copy.source == "gpx" and next(a for a in stored if a.id == copy.duplicate_of).source == "fit"
    again = import_paths(svc, athlete, [folder])
    assert {r.outcome for r in again.files if not r.name.endswith("3.gpx")} == {"duplicate"}
