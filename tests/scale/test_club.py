"""`loadmon club status`: one row per athlete, sorted by risk, in a constant number of queries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.service import Service
from loadmon.service import club as club_service
from loadmon.service import load as load_service
from tests.conftest import _to_toml

DAY = date(2025, 6, 1)
NOW = datetime(2025, 6, 1, 18, 0, tzinfo=UTC)


def _run(svc: Service, athlete, day_offset: int, km: float, sid: int) -> None:
    start = datetime.combine(DAY - timedelta(days=day_offset), datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
    svc.store.upsert_activity(athlete.id, ActivityRecord(
        source="fit", source_id=sid, sport="running", start_time=start, distance_m=km * 1000, moving_time_s=km * 330,
        elevation_gain_m=40, elevation_loss_m=40, elevation_source=ElevationSource.DEVICE, content_hash=f"h{sid}"))


def _steady(svc: Service, name: str, *, extra_km: float | None = None, days: int = 60) -> object:
    """8 km every other day for ``days`` days (an unremarkable runner); ``extra_km``: one more run today."""
    a = svc.add_athlete(name, timezone_name="Europe/Paris")
    for i, off in enumerate(range(days, 0, -2)):
        _run(svc, a, off, 8.0, a.id * 1000 + i)
    if extra_km is not None:
        _run(svc, a, 0, extra_km, a.id * 1000 + 999)
    return a


@pytest.fixture
def club(open_service, store_url):
    svc = open_service(store_url, clock=lambda: NOW)
    athletes = {
        "steady": _steady(svc, "Steady"),
        "spiker": _steady(svc, "Spiker", extra_km=20.0),  # 2.5x the longest run of the last 30 days
        "hurt": _steady(svc, "Hurt"),
        "alerted": _steady(svc, "Alerted"),
        "empty": svc.add_athlete("Empty"),
    }
    svc.store.add_symptom(athletes["hurt"].id, site="knee", side="left", location=None, severity=6,
                          started_at=NOW - timedelta(days=2), note=None)
    svc.store.add_symptom(athletes["hurt"].id, site="calf", side="right", location=None, severity=2,
                          started_at=NOW - timedelta(days=1), note=None)
    svc.store.add_symptom(athletes["steady"].id, site="shin", side="left", location=None, severity=7,
                          started_at=NOW - timedelta(days=20), note=None)
    svc.store.resolve_symptom(athletes["steady"].id, 3, NOW - timedelta(days=10))  # resolved: not active
    svc.store.add_alert(athletes["alerted"].id, rule="acwr", severity="danger", local_date=DAY - timedelta(days=1),
                        activity_id=None, dedupe_key="test:acwr:danger", message="ACWR 1.6", payload={},
                        notified=True, channels=[], now=NOW)
    svc.store.add_alert(athletes["alerted"].id, rule="weekly_ramp", severity="warning", local_date=DAY - timedelta(days=20),
                        activity_id=None, dedupe_key="test:ramp:old", message="old", payload={}, notified=True,
                        channels=[], now=NOW)
    return svc, athletes


def test_one_row_per_athlete_with_the_status_numbers(club) -> None:
    svc, athletes = club
    rows = {r["athlete"]: r for r in club_service.club_status(svc, DAY)}
    assert set(rows) == {"Steady", "Spiker", "Hurt", "Alerted", "Empty"}
    for name, a in athletes.items():
        row = rows[a.name]
        st = load_service.status(svc, a, day=DAY)
        dist = st["channels"]["distance_km"]
        assert row["date"] == DAY.isoformat()
        if name == "empty":
            assert row["distance_7d_km"] is None and row["acwr_ewma"] is None and row["last_run"] is None
            continue
        assert row["distance_7d_km"] == pytest.approx(dist["acute_7d"], abs=1e-3)
        assert row["ramp_pct"] == pytest.approx(dist["ramp_pct"], abs=0.06)
        assert row["acwr_ewma"] == pytest.approx(dist["acwr"]["ewma"], abs=1e-3)
        assert row["acwr_zone"] == dist["acwr_zone"]["ewma"]
        assert row["last_run"]["activity_id"] == st["last_run"]["activity_id"]
        assert row["last_run"]["spike_band"] == st["last_run"]["spike_band"]
    assert rows["Spiker"]["last_run"]["spike_band"] == ">100%"  # 20 km after 8 km runs
    assert rows["Hurt"]["symptoms"] == {"active": 2, "max_severity": 6}
    assert rows["Steady"]["symptoms"] == {"active": 0, "max_severity": None}  # the shin symptom was resolved
    assert rows["Alerted"]["last_alert"] == {"rule": "acwr", "severity": "danger",
                                             "local_date": (DAY - timedelta(days=1)).isoformat()}
    assert rows["Alerted"]["alerts_7d"] == {"danger": 1, "warning": 0, "info": 0}  # the old warning is outside 7 days


def test_sorted_by_risk_then_by_name(club) -> None:
    svc, _ = club
    rows = club_service.club_status(svc, DAY)
    levels = {r["athlete"]: r["risk"]["level"] for r in rows}
    assert levels["Alerted"] == "high" and levels["Hurt"] == "high"
    spiker = next(r for r in rows if r["athlete"] == "Spiker")
    assert levels["Spiker"] in ("elevated", "high") and any("spike band >100%" in x for x in spiker["risk"]["reasons"])
    assert levels["Steady"] == "ok" and levels["Empty"] == "no data"
    order = [r["athlete"] for r in rows]
    assert order[-2:] == ["Steady", "Empty"]
    assert order.index("Alerted") < order.index("Hurt")  # a danger alert (30 points) outranks severity 6 (18)
    assert [r["athlete"] for r in club_service.club_status(svc, DAY, sort="name")] == sorted(order, key=str.lower)


@pytest.mark.slow
def test_the_number_of_queries_does_not_grow_with_the_club(open_service, store_url) -> None:
    from loadmon.storage.stats import count_statements

    svc = open_service(store_url, clock=lambda: NOW)
    for i in range(3):
        _steady(svc, f"a{i}", days=10)
    with count_statements(svc.store) as small:
        assert len(club_service.club_status(svc, DAY)) == 3
    for i in range(3, 30):
        _steady(svc, f"a{i}", days=10)
    with count_statements(svc.store) as big:
        assert len(club_service.club_status(svc, DAY)) == 30
    assert big.count == small.count <= 6  # athletes, activities, symptoms, 2 x alerts (+ nothing per athlete)


@pytest.mark.slow
def test_cli_club_status_json_and_table(tmp_path, club) -> None:
    from loadmon.cli import app

    svc, _ = club
    cfg_path = tmp_path / "cli.toml"
    cfg_path.write_text(_to_toml({"database": {"url": svc.config.database_url}}), encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(app, ["--config", str(cfg_path), "club", "status", "--date", DAY.isoformat(), "--json",
                              "--sort", "name"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [r["athlete"] for r in data] == ["Alerted", "Empty", "Hurt", "Spiker", "Steady"]
    assert {"distance_7d_km", "ramp_pct", "acwr_ewma", "acwr_zone", "last_run", "symptoms", "last_alert",
            "risk"} <= set(data[0])
    table = runner.invoke(app, ["--config", str(cfg_path), "club", "status", "--date", DAY.isoformat()])
    assert table.exit_code == 0, table.output
    assert table.output.index("Alerted") < table.output.index("Steady") and "no data" in table.output
    bad = runner.invoke(app, ["--config", str(cfg_path), "club", "status", "--sort", "age"])
    assert bad.exit_code == 2 and "--sort" in bad.output
