"""`loadmon insights` end to end: FIT files written by the factory, imported by the CLI, a symptom logged by
the CLI, then the back-test's JSON (its keys and the counts the generated history implies) and its text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.fit.factory import RunSpec, encode_activity
from loadmon.cli import app

DAYS = 50  # a 5 km run every morning for the last 50 days (not today)
EASY_KM = 5.0
SPIKE_BACK, SPIKE_KM = 20, 8.0  # a run spike (+60%) 4 days before the knee pain
SYMPTOM_BACK = 16
LATE_BACK, LATE_KM = 12, 12.0  # a run spike (+50% on the 8 km) whose 14 days after have not passed


def fit_run(path: Path, start: datetime, *, km: float, serial: int) -> None:
    profile = [(0.0, 100.0), (0.5, 110.0), (1.0, 100.0)]
    spec = RunSpec(
        start=start, distance_m=km * 1000, duration_s=int(km * 360), record_interval_s=30, serial=serial, altitude_profile=profile
    )
    path.write_bytes(encode_activity(spec))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    for name in ("LOADMON_DATABASE_URL", "LOADMON_CONFIG", "LOADMON_ATHLETE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n', encoding="utf-8")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--config", str(config), *args])

    return invoke


@pytest.mark.slow
def test_insights_json_and_text_for_a_generated_history(cli, tmp_path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    folder = tmp_path / "fit"
    folder.mkdir()
    kms = {SPIKE_BACK: SPIKE_KM, LATE_BACK: LATE_KM}
    for back in range(DAYS, 0, -1):
        start = (now - timedelta(days=back)).replace(hour=7, minute=0, second=0)
        fit_run(folder / f"r{back}.fit", start, km=kms.get(back, EASY_KM), serial=5000 + back)
    assert cli("import", str(folder), "--no-alerts").exit_code == 0
    at = (now - timedelta(days=SYMPTOM_BACK)).strftime("%Y-%m-%d 19:00")
    res = cli("symptom", "add", "--site", "knee", "--side", "left", "--severity", "5", "--at", at, "--no-alerts")
    assert res.exit_code == 0, res.output

    res = cli("insights", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"athlete", "exploratory", "episodes", "rules", "not_counted", "history_months", "note"} <= set(data)
    assert data["exploratory"] is True and data["too_few_episodes"] is True and "too few" in data["note"]
    (e,) = data["episodes"]
    assert (e["site"], e["side"], e["peak_severity"]) == ("knee", "left", 5)
    assert e["began"] == (now - timedelta(days=SYMPTOM_BACK)).date().isoformat()
    # the 14 days before plus that day's morning run (07:00, before the 19:00 symptom)
    assert e["measures"]["runs"]["value"] == 15
    assert e["measures"]["distance_km"]["value"] == pytest.approx(14 * EASY_KM + SPIKE_KM, abs=0.05)
    assert e["measures"]["largest_spike_pct"]["value"] == pytest.approx((SPIKE_KM / EASY_KM - 1) * 100, abs=0.5)
    # the quiet windows: the days before the 14 that precede the episode (it is still open); each of them is in
    # the engine's 30-day warm-up, so the usual single-run increase is a reason, not a number
    quiet_days = DAYS - (SYMPTOM_BACK + 14)
    assert data["quiet_windows"] == quiet_days - 14 + 1
    assert e["measures"]["largest_spike_pct"]["usual"] is None
    assert e["measures"]["largest_spike_pct"]["usual_reason"] == "warming up"
    assert e["measures"]["distance_km"]["usual"] == pytest.approx(14 * EASY_KM, abs=0.05)
    assert e["warned_by"] == ["run_spike"]
    rules = {r["rule"]: r for r in data["rules"]}
    assert list(rules) == ["weekly_ramp", "acwr", "run_spike", "descent_spike"]
    spike = rules["run_spike"]
    assert (spike["episodes_warned"], spike["episodes_total"], spike["alerts_total"]) == (1, 1, 2)
    assert (spike["alerts_followed"], spike["alerts_nothing_following"], spike["alerts_too_recent"]) == (1, 0, 1)
    assert spike["nothing_following_per_month"] == 0.0
    assert data["history_months"] == round((DAYS + 1) / (365.2425 / 12), 1)
    assert [n["rule"] for n in data["not_counted"]] == [
        "hilly_after_symptoms",
        "comeback_spike",
        "comeback_hills",
        "pain_next_morning",
        "returned_early",
    ]

    res = cli("insights")
    assert res.exit_code == 0, res.output
    assert "Exploratory, not a diagnosis" in res.stdout and "Episode 1" in res.stdout and "run_spike" in res.stdout
    assert "Traceback" not in res.output


def test_insights_without_runs_says_so(cli) -> None:
    res = cli("insights", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["episodes"] == [] and data["first_day"] is None and "No runs yet" in data["note"]
    res = cli("insights")
    assert res.exit_code == 0 and "no runs yet" in res.stdout
