"""Several athletes in one database: every athlete-scoped command honours the global --athlete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from loadmon.cli import app
from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.storage import Store
from tests.conftest import _to_toml


@pytest.fixture
def two_athletes(tmp_path):
    """ann (3 runs) and bob (5 runs) in one SQLite database; no default athlete "me"."""
    url = f"sqlite:///{tmp_path / 'club.sqlite'}"
    store = Store.open(url)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    for name, runs in (("ann", 3), ("bob", 5)):
        a = store.ensure_athlete(name, timezone_name="Europe/Paris")
        for i in range(runs):
            store.upsert_activity(a.id, ActivityRecord(
                source="fit", source_id=a.id * 100 + i, sport="running", start_time=start + timedelta(days=3 * i),
                distance_m=5000.0 + 1000 * a.id, moving_time_s=1800, elevation_loss_m=30,
                elevation_source=ElevationSource.DEVICE, content_hash=f"{name}{i}"))
    store.close()
    cfg = tmp_path / "config.toml"
    cfg.write_text(_to_toml({"database": {"url": url}}), encoding="utf-8")
    return cfg


def _run(cfg, *args: str):
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    return result


def _json(cfg, *args: str):
    result = _run(cfg, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_every_athlete_scoped_command_takes_the_named_athlete(two_athletes, tmp_path) -> None:
    cfg = two_athletes
    assert len(_json(cfg, "--athlete", "ann", "activities", "--json")) == 3
    assert len(_json(cfg, "--athlete", "bob", "activities", "--json")) == 5
    assert _json(cfg, "--athlete", "bob", "status", "--json")["athlete"] == "bob"
    assert _json(cfg, "--athlete", "ann", "athlete", "show", "--json")["name"] == "ann"
    added = _json(cfg, "--athlete", "bob", "symptom", "add", "--site", "knee", "--severity", "4", "--json", "--no-alerts")
    assert added["symptom"]["site"] == "knee"
    assert len(_json(cfg, "--athlete", "bob", "symptom", "list", "--json")) == 1
    assert _json(cfg, "--athlete", "ann", "symptom", "list", "--json") == []
    out = tmp_path / "bob.html"
    assert _run(cfg, "--athlete", "bob", "report", "--out", str(out)).exit_code == 0
    assert "bob" in out.read_text(encoding="utf-8")
    assert _json(cfg, "--athlete", "ann", "alerts", "--json") == []
    assert _json(cfg, "--athlete", "ann", "strava", "status", "--json")["athlete"] == "ann"
    club = _json(cfg, "club", "status", "--json", "--sort", "name")
    assert [r["athlete"] for r in club] == ["ann", "bob"] and [r["symptoms"]["active"] for r in club] == [0, 1]


def test_without_athlete_several_athletes_is_an_error_that_names_them(two_athletes) -> None:
    result = _run(two_athletes, "status")
    assert result.exit_code == 2 and "ann, bob" in result.output and "--athlete" in result.output
    unknown = _run(two_athletes, "--athlete", "zoe", "activities")
    assert unknown.exit_code == 2 and "zoe" in unknown.output and "ann, bob" in unknown.output
