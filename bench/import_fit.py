"""Benchmark: loadmon's FIT reader against the bare Garmin decoder on the same files.

    python bench/import_fit.py [FOLDER] [--repeat N] [--per-file]

FOLDER defaults to ../shared/fixtures/fit (or $LOADMON_SHARED_FIXTURES/fit) when present,
else to a temporary folder of factory-made activities. Each file is timed (a) with the bare
``Decoder(Stream.from_byte_array(data)).read()`` and (b) with ``connectors.fit.read_fit``
(decode + map to ActivityRecords, including corrupt-file handling), best of N runs, in the
same process. Target: read_fit / bare <= 1.3.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from garmin_fit_sdk import Decoder, Stream  # noqa: E402

from connectors.fit import iter_fit_inputs, read_fit  # noqa: E402
from connectors.fit.factory import RunSpec, encode_activity  # noqa: E402
from loadmon.errors import ImportFileError  # noqa: E402


def default_folder() -> Path | None:
    shared = Path(os.environ.get("LOADMON_SHARED_FIXTURES", REPO.parent / "shared" / "fixtures")) / "fit"
    return shared if shared.is_dir() else None


def generate(folder: Path, count: int = 12) -> None:
    start = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)
    for i in range(count):
        minutes = 30 + 10 * i
        spec = RunSpec(
            start=start + timedelta(days=i),
            distance_m=minutes * 180.0,
            duration_s=minutes * 60,
            avg_hr=140 + i,
            max_hr=170 + i,
            altitude_profile=[(0.0, 100.0), (0.3, 100.0 + 5 * i), (0.7, 60.0), (1.0, 100.0)],
            serial=5000 + i,
        )
        (folder / f"run_{i:02d}.fit").write_bytes(encode_activity(spec))


def bare(data: bytes) -> None:
    Decoder(Stream.from_byte_array(data)).read()


def ours(name: str, data: bytes) -> int:
    try:
        return len(read_fit(data, name=name).activities)
    except ImportFileError:
        return 0


def full_import(folder: Path) -> float:
    """Seconds for the whole import path (walk, hash, decode, map, store, import log) into a fresh SQLite."""
    from loadmon.service import Service
    from loadmon.service.imports import import_paths

    with tempfile.TemporaryDirectory(prefix="loadmon-bench-db-") as tmp:
        cfg = _config(tmp)
        svc = Service.open(cfg)
        athlete = svc.athlete()
        t0 = time.perf_counter()
        import_paths(svc, athlete, [folder])
        elapsed = time.perf_counter() - t0
        svc.close()
        return elapsed


def _config(tmp: str):
    from loadmon.config import load_config

    path = Path(tmp) / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp}/bench.sqlite"\n', encoding="utf-8")
    return load_config(path, env={})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-file", action="store_true", help="also print each file's times")
    args = parser.parse_args(argv)

    tmp = None
    folder = args.folder or default_folder()
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="loadmon-bench-")
        folder = Path(tmp.name)
        generate(folder)
        print(f"no fixtures folder: generated {len(list(folder.iterdir()))} activities in {folder}")

    files: list[tuple[str, bytes]] = []
    for item in iter_fit_inputs([folder]):
        try:
            files.append((item.name, item.read()))
        except ImportFileError as exc:
            print(f"skip {exc}")
    if not files:
        print(f"no FIT files under {folder}")
        return 1

    records = 0
    activities = 0
    for name, data in files:
        try:
            result = read_fit(data, name=name)
            records += result.record_count
            activities += len(result.activities)
        except ImportFileError:
            pass
    size = sum(len(d) for _, d in files)

    best_bare = {name: float("inf") for name, _ in files}
    best_ours = dict(best_bare)
    for _ in range(args.repeat):
        for name, data in files:
            t0 = time.perf_counter()
            bare(data)
            t1 = time.perf_counter()
            ours(name, data)
            t2 = time.perf_counter()
            best_bare[name] = min(best_bare[name], t1 - t0)
            best_ours[name] = min(best_ours[name], t2 - t1)

    total_bare = sum(best_bare.values())
    total_ours = sum(best_ours.values())
    total_import = min(full_import(folder) for _ in range(args.repeat))
    print(f"folder: {folder}")
    print(f"files: {len(files)}  bytes: {size}  records (read_fit): {records}  activities: {activities}  "
          f"repeat: best of {args.repeat}")
    print(f"{'':10} {'seconds':>8} {'files/s':>9} {'records/s':>11}")
    for label, total in (("bare", total_bare), ("read_fit", total_ours), ("import", total_import)):
        print(f"{label:10} {total:8.3f} {len(files) / total:9.1f} {records / total:11.0f}")
    ratio = total_ours / total_bare
    print(f"ratio read_fit/bare: {ratio:.3f}")
    ratio = total_import / total_bare
    print(f"ratio import/bare: {ratio:.3f}  (full `loadmon import` path into a fresh SQLite file, one transaction "
          f"per file; target <= 1.3: {'OK' if ratio <= 1.3 else 'ABOVE'})")
    if args.per_file:
        for name, _ in files:
            b, o = best_bare[name], best_ours[name]
            print(f"  {Path(name).name:50} bare {b * 1000:8.1f} ms  read_fit {o * 1000:8.1f} ms  x{o / b:5.2f}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
