"""The CLI through typer's CliRunner on a real SQLite database.

``cli(*args, columns=N)`` runs one command (``COLUMNS=N`` when given: the console width a
terminal of N columns gives); ``stored`` fills the database through the store with text an
outsider controls (an athlete name from before names were checked, a Strava activity name
and sport, a symptom note, a job error quoting a file name), each holding rich markup and
terminal escape sequences.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loadmon.cli import app
from loadmon.domain import ActivityRecord, ElevationSource

UTC = UTC
#: Markup that would crash rich ([/x]) or vanish ([bold]), an ANSI colour (ESC) and a C1 CSI.
HOSTILE = "A[/x] [bold]B[/bold] \x1b[31mred\x1b[0m \x9b2J"
#: What the commands must show for it: the markup literally, the control characters removed.
SHOWN = "A[/x] [bold]B[/bold] [31mred[0m 2J"


@pytest.fixture(autouse=True)
def _logs_to_real_stderr():
    """CLI invocations point the logs at the runner's stream (closed afterwards): restore them."""
    from loadmon.logs import configure_logging

    configure_logging(stream=sys.__stderr__)
    yield
    configure_logging(stream=sys.__stderr__)


@dataclass
class Cli:
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    config: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.tmp_path / 'db.sqlite'}"

    def write_config(self, text: str = "", *, mode: int = 0o600) -> Path:
        self.config.write_text(f'[database]\nurl = "{self.db_url}"\n{text}', encoding="utf-8")
        self.config.chmod(mode)
        return self.config

    def __call__(self, *args: str, columns: int | None = None):
        """Run ``loadmon --config CONFIG *args``; ``columns``: the width of the terminal it prints to."""
        app_module = importlib.import_module("loadmon.cli.app")  # (loadmon.cli.app is also the Typer app's name)
        with self.monkeypatch.context() as mp:
            if columns is None:
                mp.delenv("COLUMNS", raising=False)
            else:  # what a terminal of that width gives the program: $COLUMNS and the console's width
                mp.setenv("COLUMNS", str(columns))
                mp.setattr(app_module.console, "width", columns)
                mp.setattr(app_module.err_console, "width", columns)
            return CliRunner().invoke(app, ["--config", str(self.config), *args])

    def store(self):
        from loadmon.storage import Store

        return Store.open(self.db_url)


@pytest.fixture
def cli(tmp_path, monkeypatch) -> Cli:
    for name in [n for n in __import__("os").environ if n.startswith("LOADMON_")]:
        monkeypatch.delenv(name, raising=False)
    c = Cli(tmp_path, monkeypatch, tmp_path / "config.toml")
    c.write_config()
    return c


def record(day: date, km: float, *, source_id: int, name: str | None = None, sport: str = "running",
           descent: float = 1234.0, steep: float = 456.0, minutes: float = 225.2) -> ActivityRecord:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
    return ActivityRecord(source="strava", source_id=source_id, sport=sport, start_time=start, distance_m=km * 1000.0,
                          moving_time_s=minutes * 60, elapsed_time_s=minutes * 60, elevation_gain_m=descent,
                          elevation_loss_m=descent, steep_descent_m=steep, elevation_source=ElevationSource.DEVICE,
                          avg_hr=151, name=name, content_hash=f"h{source_id}")


@dataclass(frozen=True)
class Stored:
    athlete: str
    today: date
    activity_ids: list[int]


@pytest.fixture
def stored(cli) -> Stored:
    """The data of :func:`store_data` with every outside text HOSTILE."""
    return store_data(cli, HOSTILE)


@pytest.fixture
def plain(cli) -> Stored:
    """The same data with ordinary text (the tables' layout, whatever the text)."""
    return store_data(cli, "Ann Example")


def store_data(cli: Cli, text: str) -> Stored:
    """An athlete named ``text`` with 10 runs (one of sport "running <text>"; a long one of 456.78 km on the
    last day), a symptom whose location and note are ``text``, an alert with a long message, and daemon job
    runs whose error quotes ``text``."""
    from loadmon.service.jobs import JOB_DAEMON, JOB_EVALUATE

    today = datetime.now(UTC).date()
    store = cli.store()
    try:
        athlete = store.ensure_athlete(text, timezone_name="UTC")
        ids = []
        for i in range(10):
            day = today - timedelta(days=10 - i)
            km = 456.78 if i == 9 else 42.2 + i
            sport = f"running {text}" if i == 0 else "running"  # a Strava sport_type is outside text too
            ids.append(store.upsert_activity(athlete.id, record(day, km, source_id=1000 + i, name=text,
                                                                 sport=sport)).activity_id)
        started = datetime.now(UTC) - timedelta(hours=2)
        store.add_symptom(athlete.id, site="knee", side="right", location=text, severity=4, started_at=started,
                          note=f"{text}\nsecond line")
        message = (f"{text}: your week jumped 118.4 %: 612.34 km after 281.07 km; keep the next 7 days near "
                   f"350.5 km (your usual week before this block was 280.25 km) - first seen 2026-11-30")
        store.add_alert(athlete.id, rule="weekly_ramp", severity="danger", local_date=today - timedelta(days=1),
                        activity_id=None, dedupe_key="k1", message=message, payload={}, notified=True,
                        channels=["email"], now=started)
        run = store.start_job_run(JOB_DAEMON, athlete_id=None, started_at=started)
        store.finish_job_run(run, outcome="ok", finished_at=started + timedelta(minutes=5), counts={"once": True})
        run = store.start_job_run(JOB_EVALUATE, athlete_id=athlete.id, started_at=started)
        store.finish_job_run(run, outcome="error", finished_at=started + timedelta(seconds=3),
                             error=f"cannot read /data/{text}.fit: bad CRC")
    finally:
        store.close()
    return Stored(athlete=text, today=today, activity_ids=ids)
