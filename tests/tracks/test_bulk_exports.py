"""Bulk exports: a Strava export (activities.csv + activities/*.fit.gz|gpx.gz|tcx.gz) stores each file's run with
Strava's id, type and name; a Garmin export's non-activity FIT files are counted as "not activities", never as
failures; one bad member never stops the batch."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import UTC, datetime, timedelta

from connectors.exports import parse_strava_activities_csv
from connectors.fit.factory import RunSpec, encode_activity, encode_course_file, encode_settings_file
from loadmon.service.imports import import_paths
from tests.tracks.trackgen import gpx_bytes, tcx_bytes

START = datetime(2026, 4, 6, 6, 45, tzinfo=UTC)
CSV_HEAD = (
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,Distance,"
    "Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,Filename,Athlete Weight,"
    "Bike Weight,Elapsed Time,Moving Time,Distance\n"
)


def spec(i: int, km: float = 10.0) -> RunSpec:
    return RunSpec(
        start=START + timedelta(days=i),
        distance_m=km * 1000,
        duration_s=int(km * 330),
        serial=900 + i,
        record_interval_s=5,
        altitude_profile=[(0.0, 100.0), (0.5, 160.0), (1.0, 100.0)],
    )


def strava_export() -> bytes:
    rows = [
        (1001, "Morning Run", "Run", "activities/1001.fit.gz"),
        (1002, "Lunch Run", "Run", "activities/1002.gpx.gz"),
        (1003, "Spin, with a comma", "Ride", "activities/1003.tcx.gz"),
        (1004, "Manual entry", "Run", ""),  # no file: left out
    ]
    lines = [CSV_HEAD] + [
        f'{i},"Apr {6 + n}, 2026, 6:45:00 AM","{name}",{kind},,3300,10.0,170,50,false,,,{file},60,,3300,3300,10000\n'
        for n, (i, name, kind, file) in enumerate(rows)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("activities.csv", "".join(lines))
        z.writestr("activities/1001.fit.gz", gzip.compress(encode_activity(spec(0))))
        z.writestr("activities/1002.gpx.gz", gzip.compress(gpx_bytes(spec(1), sport="")))  # no sport in the file
        z.writestr("activities/1003.tcx.gz", gzip.compress(tcx_bytes(spec(2), sport="Running")))  # a ride on Strava
        z.writestr("activities/1005.gpx.gz", b"this is not gzip")  # a broken member
        z.writestr("profile.csv", "Athlete ID\n1\n")
    return buffer.getvalue()


def test_the_csv_is_read_by_file_with_its_id_type_and_name() -> None:
    entries, problems = parse_strava_activities_csv(strava_export_csv())
    assert problems == [] and sorted(entries) == ["activities/1001.fit.gz", "activities/1002.gpx.gz", "activities/1003.tcx.gz"]
    e = entries["activities/1003.tcx.gz"]
    assert (e.activity_id, e.activity_type, e.name) == (1003, "Ride", "Spin, with a comma")
    bad, problems = parse_strava_activities_csv(CSV_HEAD.encode() + b'x1,"d",n,Run,,,,,,,,,activities/x.fit,,,,,\n')
    assert bad == {} and problems == ["activities.csv line 2: Activity ID 'x1' is not an activity id"]
    assert parse_strava_activities_csv(b"a,b\n1,2\n")[1] == ["activities.csv has no column 'activity id', 'activity type', 'filename'"]


def strava_export_csv() -> bytes:
    with zipfile.ZipFile(io.BytesIO(strava_export())) as z:
        return z.read("activities.csv")


def test_a_strava_export_stores_strava_ids_types_and_names(svc, tmp_path) -> None:
    athlete = svc.athlete()
    (tmp_path / "export_123.zip").write_bytes(strava_export())
    summary = import_paths(svc, athlete, [tmp_path / "export_123.zip"])
    outcomes = {r.name.rsplit("/", 1)[-1]: r.outcome for r in summary.files}
    assert outcomes == {"1001.fit.gz": "imported", "1002.gpx.gz": "imported", "1003.tcx.gz": "imported", "1005.gpx.gz": "failed"}
    stored = {a.external_id: a for a in svc.store.list_activities(athlete.id)}
    assert set(stored) == {"strava:1001", "strava:1002", "strava:1003"}
    assert (stored["strava:1001"].sport, stored["strava:1001"].name, stored["strava:1001"].source) == ("running", "Morning Run", "fit")
    assert stored["strava:1002"].sport == "running"  # the GPX had no sport: the CSV's Run
    assert stored["strava:1003"].sport == "cycling"  # Strava says Ride: Strava's type wins


def test_an_unzipped_strava_export_folder_works_the_same(svc, tmp_path) -> None:
    folder = tmp_path / "export"
    with zipfile.ZipFile(io.BytesIO(strava_export())) as z:
        z.extractall(folder)
    summary = import_paths(svc, svc.athlete(), [folder])
    assert summary.count("imported") == 3 and summary.count("failed") == 1
    assert {a.external_id for a in svc.store.list_activities(svc.athlete().id)} == {"strava:1001", "strava:1002", "strava:1003"}


def test_a_garmin_export_counts_non_activity_files_apart(svc, tmp_path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip", _inner_zip())
        z.writestr("DI_CONNECT/DI-Connect-Fitness/summary.json", "{}")
    (tmp_path / "garmin.zip").write_bytes(buffer.getvalue())
    summary = import_paths(svc, svc.athlete(), [tmp_path / "garmin.zip"])
    data = summary.as_dict()
    assert (data["imported"], data["not_activities"], data["failed"], data["skipped"]) == (2, 3, 0, 0)
    assert {r.outcome for r in summary.files} == {"imported", "not_activity"}


def _inner_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a_run.fit", encode_activity(spec(0)))
        z.writestr("b_run.fit", encode_activity(spec(1, 8.0)))
        z.writestr("settings1.fit", encode_settings_file(serial=1))
        z.writestr("settings2.fit", encode_settings_file(serial=2))
        z.writestr("course.fit", encode_course_file(spec(3)))
    return buffer.getvalue()
