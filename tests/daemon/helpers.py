"""Helpers for the daemon tests: a config file, the CLI as a subprocess, FIT files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, _to_toml


def write_config(tmp_path: Path, *, watch_dirs: list[Path] | None = None, database_url: str | None = None,
                 **daemon: Any) -> Path:
    """A config file for a daemon with short intervals (override any daemon.* key)."""
    settings = {"watch_interval_s": 1, "deliver_interval_s": 1, "sync_jitter_s": 0, "misfire_grace_s": 60} | daemon
    sections: dict[str, Any] = {
        "database": {"url": database_url or f"sqlite:///{tmp_path / 'loadmon.sqlite'}"},
        "fit": {"watch_dirs": [str(p) for p in (watch_dirs or [])]},
        "daemon": settings,
    }
    path = tmp_path / "config.toml"
    path.write_text(_to_toml(sections), encoding="utf-8")
    return path


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADMON_")}
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["LOADMON_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def clean_install_env(tmp_path: Path) -> dict[str, str]:
    """A new user's environment: no config file anywhere, an empty home and data directory."""
    env = cli_env(tmp_path)
    home = tmp_path / "home"
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local" / "share"))
    return env


def loadmon_cmd(config: Path | None, *args: str) -> list[str]:
    """The CLI; ``config`` None means the default config search (none on a clean install)."""
    return [sys.executable, "-m", "loadmon", *(["--config", str(config)] if config else []), *args]


def run_cli(config: Path | None, *args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(loadmon_cmd(config, *args), env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout)


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class DaemonProcess:
    """`loadmon daemon` as a real subprocess; its JSON log lines go to a file."""

    def __init__(self, config: Path | None, env: dict[str, str], log_path: Path, *extra: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(loadmon_cmd(config, "daemon", *extra), env=env, cwd=REPO_ROOT,
                                     stdout=self._log, stderr=subprocess.STDOUT, text=True)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return out

    def wait_for_event(self, name: str, *, timeout: float = 30) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode} before {name!r}:\n{self.log_text()}")
            return next((e for e in self.events() if e.get("event") == name), None)
        return wait_until(found, timeout=timeout, what=f"log event {name!r}")

    def terminate(self, *, timeout: float = 10) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds until it exited)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - t0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def fit_file(path: Path, *, start: datetime | None = None, km: float = 10.0, old: bool = False) -> Path:
    """Write a real FIT activity made by the project's encoder; ``old`` backdates its mtime."""
    from connectors.fit.factory import RunSpec, encode_activity

    start = start or datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
    data = encode_activity(RunSpec(start=start, distance_m=km * 1000, duration_s=int(km * 300)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if old:
        t = time.time() - 3600
        os.utime(path, (t, t))
    return path


def recent_start(days_ago: float = 0.5) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days_ago)).replace(microsecond=0)
