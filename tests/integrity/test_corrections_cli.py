"""`loadmon activities exclude | include` and `loadmon symptom edit | delete` end to end (real FIT
files from the factory, a real SQLite file, a real HTTP push receiver; data placed relative to
the real clock, which the CLI uses): the alerts that no longer hold are withdrawn and never sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.fit.factory import RunSpec, encode_activity
from loadmon.cli import app


def _fit(path: Path, start: datetime, *, km: float, descent: float = 10.0, serial: int) -> Path:
    profile = [(0.0, 100.0), (0.5, 100.0 + descent), (1.0, 100.0)]
    path.write_bytes(encode_activity(RunSpec(start=start, distance_m=km * 1000, duration_s=int(km * 360),
                                             record_interval_s=30, serial=serial, altitude_profile=profile)))
    return path


@pytest.fixture
def cli(tmp_path, monkeypatch, http_receiver):
    for name in ("LOADMON_DATABASE_URL", "LOADMON_CONFIG", "LOADMON_ATHLETE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n'
                      f'[alerts]\npush_urls = ["json://{http_receiver.host}:{http_receiver.port}/hook"]\n',
                      encoding="utf-8")
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, ["--config", str(config), *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def _history(cli, folder: Path, now: datetime, *, descent: float = 10.0) -> None:
    folder.mkdir()
    for back in range(36, 1, -1):
        _fit(folder / f"h{back}.fit", (now - timedelta(days=back)).replace(hour=7, minute=0, second=0), km=8.0,
             descent=descent, serial=7000 + back)
    cli("import", str(folder), "--json")


def _alerts(cli) -> dict[int, dict]:
    return {a["id"]: a for a in json.loads(cli("alerts", "--json", "--limit", "0").stdout)}


@pytest.mark.slow
def test_exclude_withdraws_the_alerts_of_a_wrong_run_and_include_brings_them_back(cli, tmp_path, http_receiver) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _history(cli, tmp_path / "history", now)
    before = _alerts(cli)
    sent_before = len(http_receiver.requests)
    wrong = _fit(tmp_path / "wrong.fit", now - timedelta(hours=20), km=17.0, serial=9000)  # a friend's run
    cli("import", str(wrong), "--no-alerts")
    (run,) = [a for a in json.loads(cli("activities", "--json").stdout) if a["distance_m"] == 17_000]
    cli("alerts", "evaluate")  # stores the alerts, sends nothing
    raised = [a for a in _alerts(cli).values() if a["id"] not in before]
    assert any(a["rule"] == "run_spike" and a["activity_id"] == run["id"] for a in raised)
    assert all(d["state"] == "pending" for a in raised for d in a["deliveries"])

    out = cli("activities", "exclude", str(run["id"]), "--reason", "my friend's run").stdout
    assert f"activity {run['id']} was excluded: not counted in the load" in out
    assert f"alerts: 0 new, {len(raised)} withdrawn (see `loadmon alerts`)" in out
    assert len(http_receiver.requests) == sent_before  # withdrawn before they were sent: never sent
    after = _alerts(cli)
    assert all(after[a["id"]]["state"] == "withdrawn" for a in raised)
    assert all(d["state"] == "withdrawn" for a in raised for d in after[a["id"]]["deliveries"])
    listed = {a["id"]: a for a in json.loads(cli("activities", "--json").stdout)}
    assert (listed[run["id"]]["excluded"], listed[run["id"]]["excluded_reason"]) == (True, "my friend's run")
    assert "running (excluded)" in cli("activities").stdout
    assert "withdrawn: activity" in cli("alerts", "--limit", "0").stdout
    assert json.loads(cli("status", "--json").stdout)["last_run"]["distance_km"] == pytest.approx(8.0)

    out = cli("activities", "include", str(run["id"]), "--json").stdout
    data = json.loads(out)
    assert data["activity"]["excluded"] is False
    assert data["alerts"]["alerts_reinstated"] == len(raised) and data["alerts"]["alerts_sent"] == len(raised)
    assert len(http_receiver.requests) == sent_before + len(raised)

    cli("athlete", "add", "bob")
    res = cli("--athlete", "bob", "activities", "exclude", str(run["id"]), code=2)
    assert f"no activity with id {run['id']}" in res.output
    assert json.loads(cli("--athlete", "me", "activities", "--json").stdout)[-1]["excluded"] is False
    cli("--athlete", "me", "activities", "exclude", "987654", code=2)


@pytest.mark.slow
def test_symptom_edit_and_delete_withdraw_the_hilly_run_alert(cli, tmp_path, http_receiver) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _history(cli, tmp_path / "history", now, descent=200.0)
    _fit(tmp_path / "today.fit", now - timedelta(hours=2), km=8.0, descent=210.0, serial=8000)
    cli("import", str(tmp_path / "today.fit"))
    sent_before = len(http_receiver.requests)
    at = (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")

    def hilly() -> list[dict]:
        return [a for a in _alerts(cli).values() if a["rule"] == "hilly_after_symptoms"]

    added = json.loads(cli("symptom", "add", "--site", "knee", "--side", "right", "--severity", "4", "--at", at,
                           "--no-alerts", "--json").stdout)
    sid = added["symptom"]["id"]
    cli("alerts", "evaluate")
    (alert,) = hilly()
    assert alert["state"] == "active" and [d["state"] for d in alert["deliveries"]] == ["pending"]

    # logged on the wrong site: the lower back is not watched by the hilly-run rule
    out = json.loads(cli("symptom", "edit", str(sid), "--site", "lower back", "--note", "it was my back",
                         "--json").stdout)
    assert (out["symptom"]["site"], out["symptom"]["note"], out["symptom"]["severity"]) == ("lower_back", "it was my back", 4)
    # withdrawn: the hilly-run alert and the comeback spike (the 8 km run was the first since the pain, above 3 km)
    assert out["alerts"]["alerts_withdrawn"] == 2 and out["alerts"]["alerts_sent"] == 0
    assert {a["rule"] for a in _alerts(cli).values() if a["state"] == "withdrawn"} == {"hilly_after_symptoms",
                                                                                      "comeback_spike"}
    assert hilly()[0]["state"] == "withdrawn" and len(http_receiver.requests) == sent_before

    cli("symptom", "edit", str(sid), code=2)  # nothing to change
    cli("athlete", "add", "bob")
    res = cli("--athlete", "bob", "symptom", "delete", str(sid), code=2)
    assert f"no symptom with id {sid}" in res.output
    res = cli("--athlete", "bob", "symptom", "edit", str(sid), "--severity", "1", code=2)
    assert f"no symptom with id {sid}" in res.output

    out = cli("--athlete", "me", "symptom", "delete", str(sid)).stdout
    assert f"deleted symptom {sid}" in out
    assert json.loads(cli("--athlete", "me", "symptom", "list", "--json").stdout) == []
    assert hilly()[0]["state"] == "withdrawn" and len(http_receiver.requests) == sent_before


@pytest.mark.slow
def test_exclude_and_include_say_when_nothing_changed_and_a_copy_is_not_counted_itself(cli, tmp_path) -> None:
    """`include` of an activity that was never excluded does not claim it "was included again";
    `exclude` twice says "already excluded"; a re-saved copy (no serial, 1 s later) that another
    copy counts for is not reported as "counted in the load"."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    spec = {"distance_m": 10_000, "duration_s": 3000, "record_interval_s": 30}
    (tmp_path / "orig.fit").write_bytes(encode_activity(RunSpec(start=start, serial=4242, **spec)))
    (tmp_path / "copy.fit").write_bytes(encode_activity(RunSpec(start=start + timedelta(seconds=1), serial=None, **spec)))
    cli("import", str(tmp_path / "orig.fit"), "--no-alerts")
    cli("import", str(tmp_path / "copy.fit"), "--no-alerts")
    acts = {a["duplicate_of"] is None: a["id"] for a in json.loads(cli("activities", "--json").stdout)}
    primary, copy = acts[True], acts[False]

    out = cli("activities", "include", str(primary)).stdout
    assert f"activity {primary} was not excluded: counted in the load" in out
    assert "included again" not in out
    out = cli("activities", "include", str(copy)).stdout
    assert f"activity {copy} was not excluded: its run is counted once" in out
    assert f"activity {primary} (fit), a copy of the same run, counts for it" in out
    assert "counted in the load" not in out
    cli("activities", "exclude", str(copy))
    assert f"activity {copy} was already excluded: not counted in the load" in cli("activities", "exclude", str(copy)).stdout
    assert f"activity {copy} was included again" in cli("activities", "include", str(copy)).stdout


@pytest.mark.slow
def test_a_symptom_logged_after_a_deleted_one_does_not_take_its_id(cli, tmp_path) -> None:
    """A deleted symptom's id is not handed out again (SQLite reused the largest rowid): the
    withdrawn alert's reason "symptom N was deleted" and its numbers' symptom_id must not name
    the symptom logged next."""
    now = datetime.now(UTC).replace(microsecond=0)
    _history(cli, tmp_path / "history", now, descent=200.0)
    _fit(tmp_path / "today.fit", now - timedelta(hours=2), km=8.0, descent=210.0, serial=8000)
    cli("import", str(tmp_path / "today.fit"), "--no-alerts")
    at = (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    first = json.loads(cli("symptom", "add", "--site", "knee", "--side", "right", "--severity", "4", "--at", at,
                           "--json").stdout)["symptom"]["id"]
    (alert,) = [a for a in _alerts(cli).values() if a["rule"] == "hilly_after_symptoms"]
    assert alert["numbers"]["symptom_id"] == first
    cli("symptom", "delete", str(first))
    assert f"symptom {first} was deleted" in _alerts(cli)[alert["id"]]["withdrawn_reason"]
    second = json.loads(cli("symptom", "add", "--site", "ankle", "--side", "left", "--severity", "3", "--at", at,
                            "--no-alerts", "--json").stdout)["symptom"]["id"]
    assert second > first
    assert [s["id"] for s in json.loads(cli("symptom", "list", "--json").stdout)] == [second]
