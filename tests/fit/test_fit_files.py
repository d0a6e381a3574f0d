"""iter_fit_inputs: files, folders, .fit.gz and zip exports, with per-input errors (fresh clone)."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.fit import iter_fit_inputs, read_fit
from connectors.fit.factory import RunSpec, encode_activity
from loadmon.errors import CorruptFileError, UnsupportedFileError


def fit_bytes(serial: int) -> bytes:
    spec = RunSpec(start=datetime(2024, 6, serial, 7, 0, tzinfo=UTC), distance_m=1_000.0, duration_s=300, serial=serial)
    return encode_activity(spec)


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_folder_with_gz_zip_nested_zip_and_non_fit_files(tmp_path: Path) -> None:
    files = {serial: fit_bytes(serial) for serial in range(1, 8)}
    (tmp_path / "a.fit").write_bytes(files[1])
    (tmp_path / "B.FIT").write_bytes(files[2])
    (tmp_path / "c.fit.gz").write_bytes(gzip.compress(files[3]))
    (tmp_path / "notes.gpx").write_text("<gpx/>")
    (tmp_path / "data.csv").write_text("a,b\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.fit").write_bytes(files[4])
    inner = make_zip({"x.fit": files[7], "x.tcx": b"<tcx/>"})
    (tmp_path / "export.zip").write_bytes(
        make_zip(
            {
                "activities/5.fit": files[5],
                "activities/6.fit.gz": gzip.compress(files[6]),
                "activities/6.gpx.gz": gzip.compress(b"<gpx/>"),
                "activities.csv": b"id\n5\n6\n",
                "__MACOSX/activities/._5.fit": b"\x00\x05\x16\x07 resource fork",
                "uploads/part1.zip": inner,
            }
        )
    )
    everything = list(iter_fit_inputs([tmp_path]))
    inputs = [i for i in everything if i.skip_reason is None]
    names = [i.name for i in inputs]
    root = str(tmp_path)
    assert [i.name for i in everything if i.skip_reason] == []
    # GPX and TCX (also gzipped, also inside zips) are inputs of their own format, read gunzipped
    tracks = {i.name: (i.format, i.read()) for i in inputs if i.format != "fit"}
    assert tracks == {
        f"{root}/export.zip!activities/6.gpx.gz": ("gpx", b"<gpx/>"),
        f"{root}/export.zip!uploads/part1.zip!x.tcx": ("tcx", b"<tcx/>"),
        f"{root}/notes.gpx": ("gpx", b"<gpx/>"),
    }
    inputs = [i for i in inputs if i.format == "fit"]
    names = [i.name for i in inputs]
    assert names == [
        f"{root}/B.FIT",
        f"{root}/a.fit",
        f"{root}/c.fit.gz",
        f"{root}/export.zip!activities/5.fit",
        f"{root}/export.zip!activities/6.fit.gz",
        f"{root}/export.zip!uploads/part1.zip!x.fit",
        f"{root}/sub/d.fit",
    ]
    read = [i.read() for i in inputs]
    assert read == [files[2], files[1], files[3], files[5], files[6], files[7], files[4]]
    for item in inputs:
        (activity,) = read_fit(item.read(), name=item.name).activities
        assert activity.external_id == item.name


def test_reading_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "gone.fit"
    path.write_bytes(fit_bytes(1))
    (item,) = iter_fit_inputs([path])
    path.unlink()
    with pytest.raises(CorruptFileError) as caught:
        item.read()
    assert caught.value.path == str(path)


def test_bad_inputs_are_per_input_errors_and_iteration_continues(tmp_path: Path) -> None:
    good = tmp_path / "good.fit"
    good.write_bytes(fit_bytes(2))
    bad_zip = tmp_path / "broken.zip"
    bad_zip.write_bytes(b"PK\x03\x04 this is not really a zip")
    bad_gz = tmp_path / "broken.fit.gz"
    bad_gz.write_bytes(b"not gzip at all")
    gpx = tmp_path / "route.gpx"
    gpx.write_text("<gpx/>")
    missing = tmp_path / "missing.fit"

    inputs = list(iter_fit_inputs([bad_zip, bad_gz, gpx, missing, good]))
    assert [i.name for i in inputs] == [str(bad_zip), str(bad_gz), str(gpx), str(missing), str(good)]
    problems = {}
    assert inputs[2].format == "gpx" and inputs[2].read() == b"<gpx/>"  # read here; the GPX reader judges it
    for item in inputs[:-1]:
        if item.format == "gpx":
            continue
        with pytest.raises(UnsupportedFileError if item.skip_reason else CorruptFileError) as caught:
            item.read()
        assert caught.value.path == item.name
        problems[Path(item.name).name] = caught.value.problem
    assert "zip" in problems["broken.zip"]
    assert "gzip" in problems["broken.fit.gz"]
    assert "no such file" in problems["missing.fit"]
    assert inputs[-1].read() == good.read_bytes()


def test_corrupt_zip_member_is_an_error_for_that_member_only(tmp_path: Path) -> None:
    first, second = fit_bytes(3), fit_bytes(4)
    archive = bytearray(make_zip({"1.fit": first, "2.fit": second}, compression=zipfile.ZIP_STORED))
    position = archive.find(first[100:120])  # inside the first member's stored data
    archive[position] ^= 0xFF
    path = tmp_path / "export.zip"
    path.write_bytes(bytes(archive))
    one, two = iter_fit_inputs([path])
    with pytest.raises(CorruptFileError) as caught:
        one.read()
    assert caught.value.path == f"{path}!1.fit"
    assert two.read() == second
