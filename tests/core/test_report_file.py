"""`loadmon report`: the file is private (0600) and written atomically; the period flags."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from loadmon.cli import app
from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.storage import Store
from tests.conftest import _to_toml


@pytest.fixture
def ten_months(tmp_path):
    """A SQLite database with a run every third day for the last 300 days; returns the config path."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = Store.open(url)
    athlete = store.ensure_athlete("me", timezone_name="UTC")
    start = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0) - timedelta(days=300)
    records = [ActivityRecord(source="fit", source_id=i, sport="running", start_time=start + timedelta(days=3 * i),
                              distance_m=8000.0, moving_time_s=2880, elevation_loss_m=40,
                              elevation_source=ElevationSource.DEVICE, content_hash=f"r{i}") for i in range(100)]
    store.record_import(athlete.id, path="history.zip", content_hash="h", records=records, outcome="imported")
    store.close()
    cfg = tmp_path / "config.toml"
    cfg.write_text(_to_toml({"database": {"url": url}}), encoding="utf-8")
    return cfg


def run(cfg, *args: str):
    return CliRunner().invoke(app, ["--config", str(cfg), *args])


@pytest.fixture
def open_umask():
    """A umask that lets every new file be read and written by anyone (0666)."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_the_report_is_readable_by_its_owner_only_and_replaced_whole(ten_months, tmp_path, open_umask) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "report.html"
    out.write_text("an old report", encoding="utf-8")
    out.chmod(0o644)
    result = run(ten_months, "report", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in folder.iterdir()) == ["report.html"]  # no temporary file left behind
    fresh = folder / "new" / "report.html"  # a new file (and folder) is private from the start too
    assert run(ten_months, "report", "--out", str(fresh)).exit_code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_a_report_that_cannot_be_written_is_a_clear_error(ten_months, tmp_path) -> None:
    folder = tmp_path / "out"
    (folder / "report.html").mkdir(parents=True)  # a folder where the file should go
    result = run(ten_months, "report", "--out", str(folder / "report.html"))
    assert result.exit_code == 1
    assert f"{folder / 'report.html'}: cannot write: Is a directory" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)  # no other exception
    assert sorted(p.name for p in folder.iterdir()) == ["report.html"]


def test_the_report_shows_six_months_by_default_all_or_since_on_request(ten_months, tmp_path) -> None:
    out = tmp_path / "r.html"
    assert run(ten_months, "report", "--out", str(out)).exit_code == 0
    assert "(the last 6 months)" in out.read_text(encoding="utf-8")
    assert run(ten_months, "report", "--out", str(out), "--all").exit_code == 0
    assert "(the whole history)" in out.read_text(encoding="utf-8")
    since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    assert run(ten_months, "report", "--out", str(out), "--since", since).exit_code == 0
    assert f"(from {since})" in out.read_text(encoding="utf-8")
    both = run(ten_months, "report", "--out", str(out), "--since", since, "--all")
    assert both.exit_code == 2 and "--since and --all" in both.output
