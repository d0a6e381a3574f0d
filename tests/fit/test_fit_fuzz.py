"""Fuzz (issue 11 "Must show"): seeded mutants of the shared FIT fixtures and of factory files -
byte flips, truncations and field overwrites (with the file CRC fixed, so the decoder reads the
absurd value instead of stopping at the CRC). Each mutant either gives activities whose values are
finite and within connectors/plausibility.py, or a LoadmonError for the file; never another
exception, never a hang (a per-file SIGALRM bound set by the test, not a timing assert)."""

from __future__ import annotations

import math
import random
import signal
import struct
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.fit import read_fit
from connectors.fit.factory import RunSpec, encode_activity, encode_multisport
from connectors.plausibility import check_activity
from loadmon.errors import LoadmonError

SEED = 20261204
FIXTURE_MUTANTS = 200
GENERATED_MUTANTS = 120
MAX_FIXTURE_BYTES = 260_000  # the bigger fixtures take ~0.5 s a read: they add time, not cases
PER_FILE_BOUND_S = 30
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _crc(data: bytes | bytearray, end: int) -> int:
    from garmin_fit_sdk.crc_calculator import CrcCalculator

    return CrcCalculator.calculate_crc(data, 0, end)


def field_spans(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every field value of the first FIT file's data messages (a tiny walker)."""
    if len(data) < 12 or data[8:12] != b".FIT":
        return []
    header = data[0]
    end = min(len(data), header + struct.unpack_from("<I", data, 4)[0])
    definitions: dict[int, list[int]] = {}
    spans: list[tuple[int, int]] = []
    pos = header
    try:
        while pos < end:
            h = data[pos]
            pos += 1
            if h & 0x80:  # compressed timestamp header: a data message of local type (h >> 5) & 3
                local, is_definition = (h >> 5) & 0x3, False
            else:
                local, is_definition = h & 0xF, bool(h & 0x40)
            if is_definition:
                count = data[pos + 4]
                sizes = [data[pos + 5 + 3 * i + 1] for i in range(count)]
                pos += 5 + 3 * count
                if h & 0x20:  # developer fields
                    dev = data[pos]
                    sizes += [data[pos + 1 + 3 * i + 1] for i in range(dev)]
                    pos += 1 + 3 * dev
                definitions[local] = sizes
            else:
                for size in definitions[local]:
                    spans.append((pos, size))
                    pos += size
    except (IndexError, KeyError):
        pass
    return [(o, s) for o, s in spans if o + s <= end]


def fix_crc(data: bytearray) -> None:
    end = data[0] + struct.unpack_from("<I", data, 4)[0]
    if end + 2 <= len(data):
        struct.pack_into("<H", data, end, _crc(data, end))


EXTREMES = (b"\x00", b"\xff", b"\xfe", b"\x7f", b"\x80", b"\x01")


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(("flip", "flip", "truncate", "field", "field", "field"))
    out = bytearray(data)
    if kind == "truncate" or len(out) < 16:
        cut = rng.randrange(0, len(out) + 1)
        return f"truncate at {cut}", bytes(out[:cut])
    if kind == "flip":
        spots = [rng.randrange(len(out)) for _ in range(rng.randint(1, 8))]
        for spot in spots:
            out[spot] ^= 1 << rng.randrange(8)
        if rng.random() < 0.5:
            fix_crc(out)
        return f"flip bytes {spots}", bytes(out)
    spans = field_spans(data)
    if not spans:
        return mutate(data[:-1] + bytes([data[-1] ^ 1]), rng)
    changed = []
    for _ in range(rng.randint(1, 4)):
        offset, size = rng.choice(spans)
        fill = rng.choice(EXTREMES)
        value = fill * size if rng.random() < 0.6 else bytes(rng.randrange(256) for _ in range(size))
        out[offset:offset + size] = value
        changed.append((offset, value.hex()))
    fix_crc(out)
    return f"overwrite fields {changed}", bytes(out)


def generated_files() -> list[tuple[str, bytes]]:
    start = NOW - timedelta(days=3)
    hilly = [(0.0, 100.0), (0.3, 400.0), (0.7, 150.0), (1.0, 100.0)]
    run = RunSpec(start=start, distance_m=8_000.0, duration_s=2_400, record_interval_s=20, altitude_profile=hilly)
    swim = RunSpec(start=start, sport="swimming", sub_sport="open_water", distance_m=800.0, duration_s=900,
                   record_interval_s=30)
    t1 = RunSpec(start=swim.end, sport="transition", distance_m=20.0, duration_s=5, altitude_profile=[(0, 10), (1, 90)])
    bike = RunSpec(start=t1.end, sport="cycling", sub_sport="road", distance_m=15_000.0, duration_s=1_800,
                   record_interval_s=30, altitude_profile=hilly)
    return [("run.fit", encode_activity(run)), ("tri.fit", encode_multisport([swim, t1, bike])),
            ("nosession.fit", encode_activity(RunSpec(start=start, distance_m=3_000.0, duration_s=900,
                                                      record_interval_s=15, with_session=False)))]


def mutants(shared: Path | None) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(SEED)
    if shared is not None:
        sources = [(p.name, p.read_bytes()) for p in sorted(shared.glob("*.fit")) if 0 < p.stat().st_size <= MAX_FIXTURE_BYTES]
        for i in range(FIXTURE_MUTANTS):
            name, data = sources[i % len(sources)]
            how, mutant = mutate(data, rng)
            yield f"{name} #{i}: {how}", mutant
    generated = generated_files()
    for i in range(GENERATED_MUTANTS):
        name, data = generated[i % len(generated)]
        how, mutant = mutate(data, rng)
        yield f"{name} #{i}: {how}", mutant


class PerFileTimeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise PerFileTimeout


def _assert_plausible(activity, label: str) -> None:
    for f in fields(activity):
        value = getattr(activity, f.name)
        if isinstance(value, float):
            assert math.isfinite(value), (label, f.name, value)
    again, dropped = check_activity(activity, source=label, now=NOW + timedelta(days=1))
    assert again == activity and not dropped, (label, dropped)


@pytest.mark.slow
def test_fit_mutants_import_plausibly_or_fail_with_a_loadmon_error(shared_fixtures_or_none: Path | None) -> None:
    outcomes = {"imported": 0, "refused": 0}
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for label, data in mutants(shared_fixtures_or_none):
            signal.setitimer(signal.ITIMER_REAL, PER_FILE_BOUND_S)
            try:
                result = read_fit(data, name=label, allow_truncated=len(label) % 2 == 0, now=NOW)
            except LoadmonError:
                outcomes["refused"] += 1
                continue
            except PerFileTimeout:
                pytest.fail(f"{label}: no result within {PER_FILE_BOUND_S} s")
            except Exception as exc:
                pytest.fail(f"{label}: {type(exc).__name__}: {exc}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            for activity in result.activities:
                _assert_plausible(activity, label)
            outcomes["imported"] += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    # both outcomes occur: the mutants are neither all harmless nor all rejected at the header
    assert outcomes["imported"] >= 20 and outcomes["refused"] >= 20, outcomes


@pytest.fixture
def shared_fixtures_or_none() -> Path | None:
    from tests.conftest import SHARED_FIXTURES

    folder = SHARED_FIXTURES / "fit"
    return folder if folder.is_dir() else None
