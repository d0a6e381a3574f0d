"""Benchmark: `loadmon import` of a big export with the decoding process pool (`[fit] workers`) and without.

    python bench/import_parallel.py [--files 1500] [--minutes 60] [--workers 2,1] [--folder DIR] [--regenerate]

Writes ``--files`` synthetic one-hour runs with 1 s records (1,500 x 3,601 = 5.4 M records) with the FIT
factory into a cached folder (``$TMPDIR/loadmon-bench-parallel-<files>x<minutes>``; generation is timed
separately and done once), then imports the folder into a fresh SQLite database once per worker count,
each import in a fresh process. Reported: wall time, files/s, records/s, and the peak memory of the
import's whole process tree (the importing process, the fork server and the workers), sampled from /proc
every 50 ms: the summed PSS (shared pages split between the processes that share them) and the summed
RSS (an upper bound: a shared page counts once per process), beside the importing process's own peak
(getrusage). Both imports must give the same result
(outcomes, import log, activities): the script says whether they do. Targets on 2 cores: under 90 s with
2 workers, peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.fit.factory import RunSpec, encode_activity  # noqa: E402

START = datetime(2021, 1, 4, 6, 0, tzinfo=UTC)


def spec(i: int, minutes: int) -> RunSpec:
    climb = 20.0 + (i * 37) % 180
    return RunSpec(
        start=START + timedelta(days=i, minutes=(i * 13) % 600),
        distance_m=minutes * (170.0 + (i * 7) % 60),
        duration_s=minutes * 60,
        avg_hr=135 + i % 25,
        max_hr=165 + i % 25,
        altitude_profile=[(0.0, 200.0), (0.25, 200.0 + climb), (0.5, 200.0 + climb / 3), (0.8, 200.0 + climb), (1.0, 200.0)],
        serial=100_000 + i,
        record_interval_s=1,
    )


def write_one(args: tuple[int, int, str]) -> int:
    i, minutes, folder = args
    run = spec(i, minutes)
    (Path(folder) / f"run_{i:05d}.fit").write_bytes(encode_activity(run))
    return len(run.record_offsets())


def generate(folder: Path, files: int, minutes: int, regenerate: bool) -> dict:
    manifest = folder / "manifest.json"
    if manifest.exists() and not regenerate:
        info = json.loads(manifest.read_text(encoding="utf-8"))
        if info.get("files") == files and info.get("minutes") == minutes:
            print(f"files: {folder} (cached; generated in {info['seconds']:.1f} s)")
            return info
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.fit"):
        old.unlink()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        records = sum(pool.map(write_one, [(i, minutes, str(folder)) for i in range(files)], chunksize=16))
    info = {
        "files": files,
        "minutes": minutes,
        "records": records,
        "seconds": time.perf_counter() - t0,
        "bytes": sum(p.stat().st_size for p in folder.glob("*.fit")),
    }
    manifest.write_text(json.dumps(info), encoding="utf-8")
    print(f"files: generated {files} in {folder} in {info['seconds']:.1f} s")
    return info


class TreeMemory:
    """Peak memory of this process and all its descendants, sampled from /proc: the summed resident sizes (an upper
    bound: pages shared between the processes count once per process) and the summed proportional sizes (PSS:
    each shared page split between its sharers; what the tree adds to the machine)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak_rss_kb, self.peak_pss_kb, self.processes = interval, 0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self._tree(os.getpid())
            sizes = [self._sizes_kb(pid) for pid in pids]
            self.peak_rss_kb = max(self.peak_rss_kb, sum(rss for rss, _ in sizes))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(pss for _, pss in sizes))
            self.processes = max(self.processes, len(pids))
            self._stop.wait(self.interval)

    def _tree(self, pid: int) -> list[int]:
        found, todo = [], [pid]
        while todo:
            current = todo.pop()
            found.append(current)
            try:
                for task in os.listdir(f"/proc/{current}/task"):
                    with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as f:
                        todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        return found

    @staticmethod
    def _sizes_kb(pid: int) -> tuple[int, int]:
        sizes = {"Rss:": 0, "Pss:": 0}
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                for line in f:
                    key = line.split(maxsplit=1)[0]
                    if key in sizes:
                        sizes[key] = int(line.split()[1])
        except OSError:
            pass
        return sizes["Rss:"], sizes["Pss:"]


def run_one(folder: Path, workers: int) -> dict:
    """One import in this (fresh) process; prints its figures as JSON."""
    from loadmon.config import load_config
    from loadmon.service import Service
    from loadmon.service.imports import import_paths

    with tempfile.TemporaryDirectory(prefix="loadmon-bench-db-") as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{tmp}/bench.sqlite"\n[fit]\nworkers = {workers}\n', encoding="utf-8")
        svc = Service.open(load_config(config, env={}))
        athlete = svc.athlete()
        with TreeMemory() as memory:
            t0 = time.perf_counter()
            summary = import_paths(svc, athlete, [folder])
            wall = time.perf_counter() - t0
        log = [(r["path"], r["content_hash"], r["outcome"], r["activity_count"]) for r in svc.store.import_log(athlete.id, limit=10**6)]
        stored = svc.store.list_activities(athlete.id)
        svc.close()
    result = json.dumps(
        [summary.as_dict(), [(f.name, f.outcome, f.activity_ids) for f in summary.files], log, [repr(a) for a in stored]], default=str
    )
    return {
        "workers": workers,
        "wall": wall,
        "files": len(summary.files),
        "imported": summary.count("imported"),
        "activities": len(stored),
        "tree_rss_kb": memory.peak_rss_kb,
        "tree_pss_kb": memory.peak_pss_kb,
        "tree_processes": memory.processes,
        "self_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "result_sha256": hashlib.sha256(result.encode()).hexdigest(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--workers", default="2,1", help="worker counts to run, in order (1 = no pool)")
    parser.add_argument("--folder", type=Path, help="where the generated files are kept")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--run-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.gettempdir()) / f"loadmon-bench-parallel-{args.files}x{args.minutes}"
    if args.run_one is not None:
        print(json.dumps(run_one(folder, args.run_one)))
        return 0

    info = generate(folder, args.files, args.minutes, args.regenerate)
    print(
        f"{info['files']} files, {info['bytes'] / 1e6:.0f} MB, {info['records']:,} records; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--folder", str(folder), "--run-one", str(workers)], check=True, capture_output=True, text=True
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"workers {workers}: {row['wall']:7.1f} s  {row['files'] / row['wall']:6.1f} files/s  "
            f"{info['records'] / row['wall']:9,.0f} records/s  peak memory: PSS {row['tree_pss_kb'] / 1024:4.0f} MB, "
            f"RSS {row['tree_rss_kb'] / 1024:4.0f} MB ({row['tree_processes']} processes), the importing process alone "
            f"{row['self_peak_kb'] / 1024:.0f} MB  "
            f"activities {row['activities']}  load average after: {os.getloadavg()[0]:.2f}"
        )
    same = len({r["result_sha256"] for r in rows}) == 1
    print(f"results identical across worker counts: {'yes' if same else 'NO'}")
    if len(rows) > 1:
        print(f"speed-up: x{rows[-1]['wall'] / rows[0]['wall']:.2f} ({rows[0]['workers']} workers vs {rows[-1]['workers']})")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
