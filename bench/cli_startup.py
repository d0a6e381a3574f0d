"""Benchmark: how long a `loadmon` command takes from the shell, start-up included.

Targets (issue 10): `loadmon --help` under 0.3 s, `loadmon status` under 0.8 s on a small
database (here: 40 runs imported from FIT files written by the project's encoder).

    .venv/bin/python bench/cli_startup.py [--repeat 7]

Each command runs ``--repeat`` times as a fresh process (the installed ``loadmon`` script
next to this Python, else ``python -m loadmon``); the best and the median wall time are
printed, and the best CPU time (user + system) of the process. The best wall time is the
figure to compare with the targets; on a busy shared machine the wall times include waiting
for a core, and the CPU time shows what the command itself costs. Timings are never asserted in the tests
(tests/cli/test_startup.py checks instead that `--help` imports no database code).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS_S = {"--help": 0.3, "status": 0.8}


def _command() -> list[str]:
    script = Path(sys.executable).parent / "loadmon"
    return [str(script)] if script.exists() else [sys.executable, "-m", "loadmon"]


def _small_database(folder: Path, runs: int = 40) -> Path:
    """A config and a SQLite database holding ``runs`` daily runs (imported through the CLI)."""
    from connectors.fit.factory import RunSpec, encode_activity

    fit = folder / "fit"
    fit.mkdir()
    start = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0) - timedelta(days=runs)
    for i in range(runs):
        spec = RunSpec(start=start + timedelta(days=i), distance_m=8000 + 100 * (i % 7), duration_s=2880,
                       record_interval_s=10, serial=9000 + i)
        (fit / f"run{i:03d}.fit").write_bytes(encode_activity(spec))
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{folder / "loadmon.sqlite"}"\n', encoding="utf-8")
    subprocess.run([*_command(), "--config", str(config), "import", "--no-alerts", str(fit)], check=True,
                   capture_output=True, env=_env())
    return config


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LOADMON_")}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(args: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run."""
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = _cpu(), time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        wall.append(time.perf_counter() - t0)
        cpu.append(_cpu() - c0)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = _small_database(Path(tmp))
        cases = {
            "--help": [*_command(), "--help"],
            "--version": [*_command(), "--version"],
            "status": [*_command(), "--config", str(config), "status"],
            "activities": [*_command(), "--config", str(config), "activities"],
        }
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, best of {args.repeat}")
        print(f"{'command':<12} {'best s':>7} {'median s':>9} {'CPU s':>6}  target (best wall time)")
        for name, argv in cases.items():
            wall, cpu = _time(argv, args.repeat)
            target = TARGETS_S.get(name)
            verdict = "" if target is None else f"< {target} s: {'ok' if min(wall) < target else 'MISSED'}"
            print(f"{name:<12} {min(wall):7.3f} {statistics.median(wall):9.3f} {min(cpu):6.3f}  {verdict}")


if __name__ == "__main__":
    main()
