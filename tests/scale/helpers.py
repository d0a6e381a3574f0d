"""Helpers for the multi-worker tests: a club of athletes on the fake Strava (a subprocess),
`loadmon worker` subprocesses, and waiting on the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, _to_toml
from tests.daemon.helpers import cli_env, wait_until
from tests.strava_server import ServerProcess, StravaState, hill_streams, summary_activity

__all__ = ["cli_env", "wait_until"]  # re-exported for the scale tests

SERVER = REPO_ROOT / "tests" / "strava_server.py"
CLIENT_ID = 4242
CLIENT_SECRET = "scale-test-client-secret"
FIRST_STRAVA_ATHLETE = 70_000_000
FIRST_ACTIVITY = 9_100_000_000  # above 2**32, like real Strava ids today


@dataclass
class Club:
    """What the fake Strava holds: athlete name -> Strava athlete id, tokens and activity ids."""

    strava_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[str, list[int]] = field(default_factory=dict)
    spikes: dict[str, int] = field(default_factory=dict)  # the long run of each athlete (an obvious run spike)

    @property
    def expected(self) -> set[tuple[str, int]]:
        return {(name, aid) for name, ids in self.activities.items() for aid in ids}


def club_state(n_athletes: int, *, now: datetime | None = None, read_limit_15min: int = 5000,
               read_limit_daily: int = 50_000) -> tuple[StravaState, Club]:
    """``n_athletes`` runners. Each ran 8 km every 7 days for 8 weeks, then 14 km about 10 hours
    ago: a 75 % longer run than the longest of the previous 30 days (a run spike by any
    definition) inside the 48 h notify window. Every run has altitude streams (one request each)."""
    now = now or datetime.now(UTC)
    state = StravaState(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    state.limits.read_15min = read_limit_15min
    state.limits.read_daily = read_limit_daily
    state.limits.overall_15min = max(state.limits.overall_15min, 2 * read_limit_15min)
    state.limits.overall_daily = max(state.limits.overall_daily, 2 * read_limit_daily)
    club = Club()
    next_id = FIRST_ACTIVITY
    for i in range(n_athletes):
        name = f"runner{i:03d}"
        sid = FIRST_STRAVA_ATHLETE + i
        state.add_athlete(sid, "Runner", f"{i:03d}")
        club.strava_ids[name] = sid
        ids = []
        plan = [(now - timedelta(days=56 - 7 * k, hours=2), 8_000.0) for k in range(8)] + [(now - timedelta(hours=10), 14_000.0)]
        for start, dist in plan:
            start = start.replace(microsecond=0)
            state.add_activity(summary_activity(next_id, athlete_id=sid, start=start, distance_m=dist,
                                                moving_time_s=int(dist * 0.33), total_elevation_gain=60.0),
                               streams=hill_streams(40, climb_m=60.0))
            ids.append(next_id)
            next_id += 7
        club.activities[name] = ids
        club.spikes[name] = ids[-1]
        club.tokens[name] = state.issue_tokens(sid, expires_at=now + timedelta(hours=6))
    return state, club


class StravaProcess(ServerProcess):
    """tests/strava_server.py as a subprocess holding ``state``."""

    def __init__(self, state: StravaState, tmp_path: Path) -> None:
        super().__init__(state.to_json(), tmp_path)


def write_config(tmp_path: Path, *, name: str, database_url: str, broker_url: str, queue: str, strava_url: str,
                 smtp_port: int | None = None, read_limit_15min: int = 5000, read_limit_daily: int = 50_000,
                 **worker: Any) -> Path:
    sections: dict[str, Any] = {
        "database": {"url": database_url},
        "strava": {"client_id": str(CLIENT_ID), "client_secret": CLIENT_SECRET, "api_url": strava_url,
                   "reconcile_days": 70, "read_limit_15min": read_limit_15min, "read_limit_daily": read_limit_daily},
        "worker": {"broker_url": broker_url, "queue": queue, "key_prefix": f"{queue}:", "visibility_timeout_s": 4,
                   "restore_interval_s": 1, "lock_retry_s": 1, "concurrency": 2, **worker},
        "logging": {"level": "info"},
    }
    if smtp_port is not None:
        sections["alerts"] = {"delivery_lease_s": 60,  # the shortest allowed: a killed worker's claims lapse soon
                              "email": {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                                        "to": ["coach@club.example"], "timeout_s": 10, "data_timeout_s": 30}}
    path = tmp_path / f"{name}.toml"
    path.write_text(_to_toml(sections), encoding="utf-8")
    return path



class WorkerProcess:
    """`loadmon --config X worker` in its own process group (SIGKILL of the group = a dead host)."""

    def __init__(self, config: Path, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "loadmon", "--config", str(config), "worker", *args],
                                     env=env, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}")
        return '"worker.ready"' in self.log_text()

    def kill_group(self) -> None:
        """SIGKILL the worker and its pool children at once (nothing runs any cleanup)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill_group()
        else:  # the pool children may outlive a parent that died
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()

