"""Soak benchmark: the real `loadmon daemon` on a clean install (SQLite) for a few minutes.

    .venv/bin/python bench/daemon_soak.py [--duration 180] [--lock-check-s 5] [--drop-every 10]

A fresh home, data directory and watched folder (no user config: the embedded SQLite default,
the intervals shortened through LOADMON_DAEMON__* variables). While the daemon runs, a new FIT
file (made by the project's encoder) is dropped into the watched folder every ``--drop-every``
seconds, and every 5 s the benchmark checks the process is alive and samples its RSS
(/proc/PID/status). At the end: `loadmon daemon status --json`, the recorded job runs per job
(from the job_runs table), the activities imported, then SIGTERM.

It fails (exit 1) when the daemon exits early, loses its lock, is unhealthy at the end, did not
import every dropped file, does not exit 0 on SIGTERM, or its RSS grew more than
``--max-rss-growth-mb`` between the first sample after warm-up and the end. CI does not run
it (it is not under tests/); the figures go into docs/deploy.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.fit.factory import RunSpec, encode_activity  # noqa: E402

WARM_UP_S = 10.0  # the first RSS sample counted as "start": imports, first sync and delivery done
SAMPLE_S = 5.0


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def drop_fit(folder: Path, i: int) -> None:
    start = (datetime.now(UTC) - timedelta(days=60) + timedelta(hours=12 * i)).replace(microsecond=0)
    data = encode_activity(RunSpec(start=start, distance_m=5000 + 37 * i, duration_s=1500 + 11 * i, serial=9000 + i))
    tmp = folder / f".run-{i:04d}.fit.part"  # written aside, then renamed: the daemon never sees half a file
    tmp.write_bytes(data)
    tmp.rename(folder / f"run-{i:04d}.fit")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=180.0, help="seconds to run (default 180)")
    ap.add_argument("--lock-check-s", type=int, default=5, help="daemon.lock_check_s (default 5; the real default is 30)")
    ap.add_argument("--watch-interval-s", type=int, default=2)
    ap.add_argument("--deliver-interval-s", type=int, default=5)
    ap.add_argument("--drop-every", type=float, default=10.0, help="seconds between dropped FIT files")
    ap.add_argument("--max-rss-growth-mb", type=float, default=30.0)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="loadmon-soak-"))
    home, data, watch = root / "home", root / "data", root / "watch"
    for d in (home, data, watch):
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADMON_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               LOADMON_DATA_DIR=str(data), PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1",
               LOADMON_FIT__WATCH_DIRS=str(watch),
               LOADMON_DAEMON__LOCK_CHECK_S=str(args.lock_check_s),
               LOADMON_DAEMON__WATCH_INTERVAL_S=str(args.watch_interval_s),
               LOADMON_DAEMON__DELIVER_INTERVAL_S=str(args.deliver_interval_s))
    cmd = [sys.executable, "-m", "loadmon"]
    log_path = root / "daemon.log"
    failures: list[str] = []
    samples: list[tuple[float, float]] = []
    dropped = 0
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([*cmd, "daemon"], env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        next_sample, next_drop = t0 + WARM_UP_S, t0 + 2.0
        try:
            while (now := time.monotonic()) - t0 < args.duration:
                if proc.poll() is not None:
                    failures.append(f"the daemon exited with {proc.returncode} after {now - t0:.1f} s")
                    break
                if now >= next_drop:
                    drop_fit(watch, dropped)
                    dropped += 1
                    next_drop += args.drop_every
                if now >= next_sample:
                    rss = rss_mb(proc.pid)
                    if rss is not None:
                        samples.append((now - t0, rss))
                    next_sample += SAMPLE_S
                time.sleep(0.2)
            alive_s = time.monotonic() - t0
            time.sleep(args.watch_interval_s + 3)  # the last dropped file settles and is imported
            status = subprocess.run([*cmd, "daemon", "status", "--json"], env=env, cwd=root, capture_output=True,
                                    text=True, timeout=60)
            stop_t = time.monotonic()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=15)
            stop_s = time.monotonic() - stop_t
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    lost = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            if '"daemon.lock_lost"' in line]
    if lost:
        failures.append(f"the daemon lost its lock: {lost[0]}")
    try:
        report = json.loads(status.stdout)
    except json.JSONDecodeError:
        report = {"healthy": False, "problems": [status.stdout + status.stderr]}
    if status.returncode != 0 or not report.get("healthy"):
        failures.append(f"daemon status exit {status.returncode}: {report.get('problems')}")
    if code != 0:
        failures.append(f"SIGTERM: exit status {code}")
    db = sqlite3.connect(data / "loadmon.sqlite")
    runs = {job: (n, ok) for job, n, ok in db.execute(
        "SELECT job, count(*), sum(outcome = 'ok') FROM job_runs GROUP BY job ORDER BY job")}
    activities = db.execute("SELECT count(*) FROM activities").fetchone()[0]
    db.close()
    if activities != dropped:
        failures.append(f"{dropped} files dropped, {activities} activities stored")
    start_rss, end_rss = (samples[0][1], samples[-1][1]) if samples else (float("nan"), float("nan"))
    growth = end_rss - start_rss
    if samples and growth > args.max_rss_growth_mb:
        failures.append(f"RSS grew {growth:.1f} MB (more than {args.max_rss_growth_mb} MB)")

    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"daemon alive for {alive_s:.0f} s of {args.duration:.0f} s (lock checked every {args.lock_check_s} s: "
          f"{int(alive_s // args.lock_check_s)} checks); SIGTERM -> exit {code} in {stop_s:.2f} s")
    if samples:
        print(f"RSS (MB): at {samples[0][0]:.0f} s {start_rss:.1f}, at {samples[-1][0]:.0f} s {end_rss:.1f} "
              f"(min {min(r for _, r in samples):.1f}, max {max(r for _, r in samples):.1f}; growth {growth:+.1f}, "
              f"{len(samples)} samples)")
    print(f"files dropped {dropped}, activities stored {activities}; status healthy={report.get('healthy')}")
    print("job runs (all / ok): " + ", ".join(f"{job} {n}/{ok}" for job, (n, ok) in runs.items()))
    if args.keep:
        print(f"log: {log_path}")
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    for f in failures:
        print(f"FAIL: {f}")
    print("PASS" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
