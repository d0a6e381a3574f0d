"""Fresh-clone tests: FIT files written by the factory, read back by read_fit and by fitdecode.

These never skip: they need no shared fixtures.
"""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import fitdecode
import pytest
from garmin_fit_sdk import CrcCalculator, Decoder, Stream

from connectors.fit import read_fit
from connectors.fit.encoder import FitFileWriter
from connectors.fit.factory import (
    RunSpec,
    encode_activity,
    encode_course_file,
    encode_multisport,
    encode_settings_file,
)
from loadmon.domain import ElevationSource
from loadmon.errors import CorruptFileError

START = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
HILLY = [(0.0, 100.0), (0.25, 160.0), (0.5, 120.0), (0.75, 190.0), (1.0, 100.0)]  # +130 / -130 m


def hilly_run(**overrides: Any) -> RunSpec:
    fields: dict[str, Any] = dict(
        start=START, distance_m=10_000.0, duration_s=3_000, avg_hr=151, max_hr=176,
        altitude_profile=HILLY, utc_offset_s=7_200, serial=4242,
    )
    fields.update(overrides)
    return RunSpec(**fields)


def fitdecode_messages(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """Second opinion: strict fitdecode (CRC and parse errors raise)."""
    out: dict[str, list[dict[str, Any]]] = {}
    with fitdecode.FitReader(
        io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE, error_handling=fitdecode.ErrorHandling.RAISE
    ) as reader:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA:
                out.setdefault(frame.name, []).append({f.name: f.value for f in frame.fields})
    return out


def test_round_trip_gives_the_spec_numbers() -> None:
    spec = hilly_run()
    result = read_fit(encode_activity(spec), name="run.fit")
    (run,) = result.activities
    assert result.skipped_reason is None and result.warnings == ()
    assert result.record_count == len(spec.record_offsets()) == 3_001
    assert run.sport == "running" and run.sub_sport == "generic"
    assert run.start_time == START
    assert run.distance_m == pytest.approx(10_000.0)
    assert run.moving_time_s == run.elapsed_time_s == 3_000
    assert (run.avg_hr, run.max_hr) == (151, 176)
    assert run.elevation_source is ElevationSource.DEVICE
    assert (run.elevation_gain_m, run.elevation_loss_m) == (130.0, 130.0)
    assert run.utc_offset_s == 7_200
    assert run.external_id == "run.fit"
    assert run.device == "development loadmon factory"
    assert 0 < run.source_id < 2**63


def test_fitdecode_reads_the_factory_files_too() -> None:
    spec = hilly_run()
    messages = fitdecode_messages(encode_activity(spec))
    (session,) = messages["session"]
    assert session["total_distance"] == pytest.approx(10_000.0)
    assert (session["total_ascent"], session["total_descent"]) == (130, 130)
    assert session["start_time"] == START
    assert (session["avg_heart_rate"], session["max_heart_rate"]) == (151, 176)
    records = messages["record"]
    assert len(records) == 3_001
    assert records[-1]["distance"] == pytest.approx(10_000.0)
    assert max(r["enhanced_altitude"] for r in records) == pytest.approx(190.0)
    assert sum(r["heart_rate"] for r in records) / len(records) == pytest.approx(151, abs=0.01)
    (activity,) = messages["activity"]
    local = activity["local_timestamp"].replace(tzinfo=None)
    assert local == (spec.end + timedelta(seconds=7_200)).replace(tzinfo=None)


@pytest.mark.parametrize("legacy_altitude", [False, True])
def test_descent_is_computed_from_altitude_when_the_session_has_no_totals(legacy_altitude: bool) -> None:
    spec = hilly_run(with_session_totals=False, legacy_altitude=legacy_altitude)
    (run,) = read_fit(encode_activity(spec), name="run.fit").activities
    assert run.elevation_source is ElevationSource.COMPUTED
    up, down = spec.profile_ascent_descent() or (0, 0)
    # smoothing rounds the three corners of the profile off by well under a metre each
    assert run.elevation_gain_m == pytest.approx(up, abs=2.0)
    assert run.elevation_loss_m == pytest.approx(down, abs=2.0)


def test_no_altitude_gives_no_elevation() -> None:
    (run,) = read_fit(encode_activity(hilly_run(altitude_profile=None)), name="flat.fit").activities
    assert run.elevation_source is ElevationSource.NONE
    assert run.elevation_gain_m is None and run.elevation_loss_m is None
    assert run.steep_descent_m is None


@pytest.mark.slow
def test_steep_descent_counts_only_the_steep_part_of_the_descent() -> None:
    # 10 km: 4 km climbing 300 m, 1.5 km down 150 m (-10 %), 4.5 km down 150 m (-3.3 %)
    profile = [(0.0, 100.0), (0.4, 400.0), (0.55, 250.0), (1.0, 100.0)]
    (run,) = read_fit(encode_activity(hilly_run(altitude_profile=profile)), name="steep.fit").activities
    assert run.elevation_loss_m == pytest.approx(300.0, abs=3.0)
    assert run.steep_descent_m == pytest.approx(150.0, abs=5.0)
    (gentle,) = read_fit(encode_activity(hilly_run()), name="gentle.fit").activities  # at most 3.6 %
    assert gentle.elevation_loss_m == pytest.approx(130.0, abs=3.0) and gentle.steep_descent_m == 0.0


@pytest.mark.slow
def test_zero_device_descent_with_a_descending_stream_uses_the_stream() -> None:
    # A TomTom/Zwift-like file: session totals 0/0, altitude drops 80 m.
    spec = hilly_run(altitude_profile=[(0.0, 200.0), (1.0, 120.0)], with_session_totals=False)
    writer_spec_data = encode_activity(spec)
    data = _with_zero_totals(writer_spec_data, spec)
    result = read_fit(data, name="zero.fit")
    (run,) = result.activities
    assert run.elevation_source is ElevationSource.COMPUTED
    assert run.elevation_loss_m == pytest.approx(80.0, abs=1.0)
    assert any("using the stream" in w for w in result.warnings)
    # a flat stream keeps the device's 0
    flat = _with_zero_totals(encode_activity(hilly_run(altitude_profile=[(0.0, 50.0), (1.0, 50.0)])), spec)
    (still,) = read_fit(flat, name="flat.fit").activities
    assert still.elevation_source is ElevationSource.DEVICE and still.elevation_loss_m == 0.0


def _with_zero_totals(data: bytes, spec: RunSpec) -> bytes:
    """Re-encode ``data`` with total_ascent = total_descent = 0 in the session (Decoder -> Encoder)."""
    writer = FitFileWriter()
    messages, errors = Decoder(Stream.from_byte_array(data)).read(
        expand_components=False, merge_heart_rates=False, expand_sub_fields=False
    )
    assert not errors
    order = ["file_id_mesgs", "device_info_mesgs", "sport_mesgs", "event_mesgs", "record_mesgs", "lap_mesgs",
             "session_mesgs", "activity_mesgs"]
    for key in order:
        for mesg in messages.get(key, []):
            fields = {k: v for k, v in mesg.items() if isinstance(k, str) and k != "developer_fields"}
            if key == "session_mesgs":
                fields.update(total_ascent=0, total_descent=0)
            if key == "activity_mesgs":
                fields.pop("local_timestamp", None)
            writer.write(key.removesuffix("_mesgs"), **fields)
    return writer.close()


def test_records_only_file_is_derived_from_its_records() -> None:
    spec = hilly_run(with_session=False, sport="running")
    result = read_fit(encode_activity(spec), name="cut.fit")
    (run,) = result.activities
    assert run.extra["has_session"] is False
    assert run.sport == "running"  # from the file's sport message
    assert run.distance_m == pytest.approx(spec.distance_m)
    assert run.elapsed_time_s == spec.duration_s == run.moving_time_s
    assert (run.avg_hr, run.max_hr) == (151, 176)
    assert run.elevation_source is ElevationSource.COMPUTED
    assert run.elevation_loss_m == pytest.approx(130.0, abs=2.0)


@pytest.mark.parametrize("sessions_first", [False, True])
def test_multisport_gives_one_activity_per_session(sessions_first: bool) -> None:
    run1 = hilly_run(duration_s=1_200, distance_m=4_000.0)
    ride = RunSpec(start=run1.end + timedelta(seconds=60), distance_m=20_000.0, duration_s=2_400, sport="cycling",
                   sub_sport="road", avg_hr=140, max_hr=160, altitude_profile=[(0.0, 100.0), (1.0, 40.0)])
    run2 = hilly_run(start=ride.end + timedelta(seconds=60), duration_s=900, distance_m=3_000.0)
    result = read_fit(encode_multisport([run1, ride, run2], sessions_first=sessions_first), name="multi.fit")
    assert [a.sport for a in result.activities] == ["running", "cycling", "running"]
    assert [a.distance_m for a in result.activities] == pytest.approx([4_000.0, 20_000.0, 3_000.0])
    assert [a.start_time for a in result.activities] == [run1.start, ride.start, run2.start]
    assert [a.extra["records"] for a in result.activities] == [len(s.record_offsets()) for s in (run1, ride, run2)]
    assert [a.elevation_loss_m for a in result.activities] == [130.0, 60.0, 130.0]
    assert len({a.source_id for a in result.activities}) == 3
    assert len({a.content_hash for a in result.activities}) == 3


@pytest.mark.slow
def test_chained_files_give_one_activity_each_and_ignore_non_activity_parts() -> None:
    first = encode_activity(hilly_run(serial=1))
    second = encode_activity(hilly_run(serial=2, start=START + timedelta(hours=3)))
    result = read_fit(first + second + encode_settings_file(), name="chained.fit")
    assert [a.start_time for a in result.activities] == [START, START + timedelta(hours=3)]
    assert any("settings" in w for w in result.warnings)


def test_non_activity_files_are_skipped_with_a_reason() -> None:
    settings = read_fit(encode_settings_file(), name="settings.fit")
    assert settings.activities == () and settings.skipped_reason is not None and "settings" in settings.skipped_reason
    course = read_fit(encode_course_file(hilly_run()), name="course.fit")
    assert course.activities == () and course.skipped_reason is not None and "course" in course.skipped_reason
    assert course.record_count > 0


@pytest.mark.slow
def test_ids_are_stable_and_depend_on_the_recording() -> None:
    spec = hilly_run()
    a = read_fit(encode_activity(spec), name="a.fit").activities[0]
    b = read_fit(encode_activity(spec), name="b.fit").activities[0]
    c = read_fit(encode_activity(hilly_run(serial=9999)), name="c.fit").activities[0]
    assert a.source_id == b.source_id and a.content_hash == b.content_hash
    assert c.source_id != a.source_id


def _refresh_file_crc(data: bytearray) -> bytes:
    crc = CrcCalculator.calculate_crc(bytes(data[:-2]), 0, len(data) - 2)
    struct.pack_into("<H", data, len(data) - 2, crc)
    return bytes(data)


def test_header_crc_zero_is_valid() -> None:
    data = bytearray(encode_activity(hilly_run()))
    data[12:14] = b"\x00\x00"
    data = bytearray(_refresh_file_crc(data))
    assert Decoder(Stream.from_byte_array(bytes(data))).check_integrity() is False  # why it is not the gate
    (run,) = read_fit(bytes(data), name="crc0.fit").activities
    assert run.distance_m == pytest.approx(10_000.0)


@pytest.mark.parametrize(
    ("mangle", "fragment"),
    [
        (lambda d: b"", "empty file (0 bytes)"),
        (lambda d: b"<gpx version='1.1'></gpx>", "not a FIT file"),
        (lambda d: d[:-3], "truncated"),
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: d[:5000] + bytes([d[5000] ^ 0xFF]) + d[5001:], "CRC mismatch"),
        (lambda d: d + b"garbage that is not a FIT header", "corrupt data"),
    ],
    ids=["empty", "gpx", "cut-3-bytes", "cut-in-half", "flipped-byte", "trailing-garbage"],
)
def test_broken_data_raises_corrupt_file_error(mangle: Any, fragment: str) -> None:
    data = mangle(encode_activity(hilly_run(duration_s=600, distance_m=2_000.0)))
    with pytest.raises(CorruptFileError) as caught:
        read_fit(data, name="broken.fit")
    assert caught.value.path == "broken.fit"
    assert fragment in caught.value.problem


def test_truncated_file_can_be_imported_on_request() -> None:
    data = encode_activity(hilly_run(with_session=False))
    cut = data[: len(data) - 10]
    result = read_fit(cut, name="cut.fit", allow_truncated=True)
    (run,) = result.activities
    assert result.warnings[0].startswith("truncated")
    assert run.distance_m == pytest.approx(10_000.0, rel=0.01)
    with pytest.raises(CorruptFileError):
        read_fit(cut, name="cut.fit")


@pytest.mark.slow
def test_the_decoder_hands_its_truncation_note_as_a_field() -> None:
    from connectors.fit.decoding import decode_fit

    cut = encode_activity(hilly_run(with_session=False))[:-10]
    decoded = decode_fit(cut, name="cut.fit", allow_truncated=True)
    assert decoded.truncated and decoded.truncation is not None
    assert decoded.truncation.endswith("imported what was readable") and decoded.truncation in decoded.warnings
    assert decode_fit(encode_activity(hilly_run()), name="whole.fit").truncation is None
    assert decoded.truncation in read_fit(cut, name="cut.fit", allow_truncated=True).notices


def test_writer_rejects_unknown_names() -> None:
    writer = FitFileWriter()
    with pytest.raises(ValueError, match="unknown FIT message"):
        writer.write("not_a_message")
    with pytest.raises(ValueError, match="total_descnet"):
        writer.write("session", total_descnet=3)


def test_hysteresis_can_be_overridden_for_computed_elevation() -> None:
    data = encode_activity(hilly_run(with_session_totals=False))
    (default,) = read_fit(data, name="run.fit").activities
    (coarse,) = read_fit(data, name="run.fit", hysteresis_m=100.0).activities
    assert default.elevation_loss_m == pytest.approx(130.0, abs=2.0)
    # HILLY never moves 100 m away from a counted point (its largest swing is 190 -> 100 m = 90 m)
    assert coarse.elevation_source is ElevationSource.COMPUTED
    assert (coarse.elevation_gain_m, coarse.elevation_loss_m) == (0.0, 0.0)
