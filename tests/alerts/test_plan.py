"""The pre-run check: equal, finding by finding, to the same run imported; and the story end to end.

The story is the demo's (loadmon.demo_story): ten easy weeks, the club's ramp, the long hard hilly
Sunday, right knee pain on Monday (4/10), a hilly 10 km on Wednesday, the knee at 6/10 on
Thursday morning. `plan check --distance-km 5` for Saturday is danger with the comeback rules
named; a check-in of 5, then 2, and the limits relax (rest -> 3 km).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from alerts.rules import DAY_RULES, evaluate_rules
from connectors.fit.factory import RunSpec, encode_activity
from connectors.fit.reader import read_fit
from loadmon import demo_story
from loadmon.cli import app
from loadmon.config import load_config
from loadmon.engine import compute_load
from loadmon.errors import ValidationError
from loadmon.service import Service
from loadmon.service import plan as plan_service
from loadmon.service import symptoms as symptom_service
from loadmon.service.alerting import rule_thresholds
from loadmon.service.imports import import_paths
from loadmon.service.load import engine_settings
from tests.web.conftest import demo_files

TZ = ZoneInfo(demo_story.TIMEZONE)
END = date(2026, 12, 4)  # a Friday: the story's hilly Sunday is 2026-11-29, the knee pain Monday 11-30
SATURDAY = END + timedelta(days=1)


@pytest.fixture
def story(tmp_path):
    """The demo story up to Friday END (runs, the knee, Thursday's 6/10), the clock at Saturday 08:00."""
    now = [datetime.combine(SATURDAY, time(8, 0), tzinfo=TZ)]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n[athlete]\ntimezone = "{demo_story.TIMEZONE}"\n', encoding="utf-8"
    )
    svc = Service.open(load_config(config, env={}), clock=lambda: now[0])
    athlete = svc.athlete()
    folder = tmp_path / "fit"
    folder.mkdir()
    paths = []
    for _run, name, data in demo_files(END):
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    assert import_paths(svc, athlete, paths).athlete_ids
    _, (pain,) = demo_story.story(END)
    knee = symptom_service.add_symptom(svc, athlete, pain.site, pain.side, pain.location, pain.severity, pain.at, pain.note)
    (worse,) = demo_story.checkins(END)
    symptom_service.update_severity(svc, athlete, knee.id, worse.severity, worse.at, worse.note)
    try:
        yield svc, athlete, knee, now
    finally:
        svc.close()


@pytest.mark.slow
def test_the_story_saturday_5_km_is_danger_then_check_ins_of_5_and_2_relax_the_limits(story) -> None:
    svc, athlete, knee, _now = story
    first = plan_service.plan_json(plan_service.check(svc, athlete, distance_km=5, day=SATURDAY))
    assert first["verdict"] == "danger"
    assert {(f["rule"], f["severity"]) for f in first["findings"]} == {("comeback_spike", "warning"), ("returned_early", "danger")}
    assert first["limits"]["max_distance_km"] == 0.0 and first["limits"]["rest"] is True
    assert "6/10" in first["limits"]["comeback"]
    spike = next(f for f in first["findings"] if f["rule"] == "comeback_spike")
    # Wednesday's hilly 10 km raised the knee from 4 to 6: not a base, so the 3 km start applies
    assert (spike["numbers"]["base_km"], spike["numbers"]["runs_not_tolerated"]) == (3.0, 1)

    symptom_service.update_severity(svc, athlete, knee.id, 5, datetime.combine(END, time(7, 30), tzinfo=TZ))
    second = plan_service.plan_json(plan_service.check(svc, athlete, distance_km=5, day=SATURDAY))
    assert second["verdict"] == "danger" and second["limits"]["rest"] is True and "5/10" in second["limits"]["comeback"]

    symptom_service.update_severity(svc, athlete, knee.id, 2, datetime.combine(SATURDAY, time(7, 30), tzinfo=TZ))
    third = plan_service.plan_json(plan_service.check(svc, athlete, distance_km=5, day=SATURDAY))
    assert third["verdict"] == "caution" and [f["rule"] for f in third["findings"]] == ["comeback_spike"]
    assert (third["limits"]["max_distance_km"], third["limits"]["max_descent_m"], third["limits"]["rest"]) == (3.0, 50.0, False)
    ok = plan_service.plan_json(plan_service.check(svc, athlete, distance_km=3, day=SATURDAY))
    assert (ok["verdict"], ok["findings"]) == ("ok", [])
    assert ok["stored"] is False and svc.store.list_activities(athlete.id)[-1].local_date < SATURDAY


@pytest.mark.slow
def test_the_check_equals_the_same_run_imported_finding_by_finding(story, tmp_path) -> None:
    svc, athlete, knee, now = story
    symptom_service.update_severity(svc, athlete, knee.id, 5, datetime.combine(END, time(7, 30), tzinfo=TZ))
    start = datetime.combine(SATURDAY, time(8, 0), tzinfo=TZ)
    # a long hilly run: 30 km and about 500 m down (longest of 30 days: 24 km; largest descent: 330 m)
    spec = RunSpec(
        start=start.astimezone(ZoneInfo("UTC")),
        distance_m=30_000,
        duration_s=30 * 330,
        avg_hr=150,
        max_hr=170,
        altitude_profile=[(0.0, 40.0), (0.25, 290.0), (0.5, 40.0), (0.75, 290.0), (1.0, 40.0)],
        serial=99_001,
        record_interval_s=5,
        utc_offset_s=0,
    )
    data = encode_activity(spec)
    (rec,) = read_fit(data, name="saturday.fit", now=now[0]).activities
    assert rec.distance_m is not None and rec.elevation_loss_m is not None
    planned = plan_service.check(svc, athlete, distance_km=rec.distance_m / 1000, descent_m=rec.elevation_loss_m, day=SATURDAY)
    assert planned.planned.start_time == start
    rules = {a.rule for a in planned.findings}
    assert {"run_spike", "descent_spike", "hilly_after_symptoms", "comeback_spike", "returned_early"} <= rules

    path = tmp_path / "saturday.fit"
    path.write_bytes(data)
    import_paths(svc, athlete, [path])
    activities = svc.store.list_activities(athlete.id, until=SATURDAY)
    (stored,) = [a for a in activities if a.local_date == SATURDAY]
    thresholds = dataclasses.replace(rule_thresholds(svc.config), cooldown_hours=0.0)
    load = compute_load(activities, athlete, engine_settings(svc.config), until=SATURDAY)
    after = [
        a
        for a in evaluate_rules(
            athlete=athlete,
            load=load,
            activities=activities,
            symptoms=svc.store.list_symptoms(athlete.id),
            thresholds=thresholds,
            first_day=SATURDAY,
            last_day=SATURDAY,
        )
        if a.activity_id == stored.id or (a.activity_id is None and a.rule in DAY_RULES)
    ]

    def key(a):
        # steep_descent_m is left out: a plan has no altitude profile, so its steep part is unknown (null); the
        # imported file measures it (0 m here: no stretch at -8 % or steeper). No rule's condition reads it.
        numbers = {k: v for k, v in a.numbers.items() if k != "steep_descent_m"}
        return a.rule, str(a.severity), json.dumps(numbers, sort_keys=True), a.rule_text, a.evidence

    # the same findings with the same numbers (only the run's name and id differ in the words)
    assert sorted(map(key, planned.findings)) == sorted(map(key, after))
    assert len(after) >= 6


def test_a_day_without_history_has_limits_with_reasons(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n', encoding="utf-8")
    svc = Service.open(load_config(config, env={}))
    try:
        out = plan_service.plan_json(plan_service.check(svc, svc.athlete(), distance_km=10))
        assert out["verdict"] == "ok" and out["findings"] == []
        assert out["limits"]["max_distance_km"] is None and out["limits"]["max_distance_reason"] == "warming up"
        assert out["limits"]["max_descent_m"] is None and out["limits"]["max_descent_reason"]
        for bad, field in (
            (-1, "planned distance"),
            (0, "planned distance"),
            ("ten", "planned distance"),
            (float("nan"), "planned distance"),
        ):
            with pytest.raises(ValidationError, match=field):
                plan_service.check(svc, svc.athlete(), distance_km=bad)
        with pytest.raises(ValidationError, match="planned descent"):
            plan_service.check(svc, svc.athlete(), distance_km=5, descent_m=-3)
    finally:
        svc.close()


@pytest.mark.slow
def test_cli_plan_check_json_and_words(tmp_path, monkeypatch) -> None:
    for name in ("LOADMON_DATABASE_URL", "LOADMON_CONFIG", "LOADMON_ATHLETE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n', encoding="utf-8")
    runner = CliRunner()
    now = datetime.now(ZoneInfo("UTC"))
    folder = Path(tmp_path / "runs")
    folder.mkdir()
    for back in range(40, 0, -1):  # 10 km a day for 40 days (a steady week: no ramp)
        start = (now - timedelta(days=back)).replace(hour=7, minute=0, second=0, microsecond=0)
        spec = RunSpec(
            start=start,
            distance_m=10_000,
            duration_s=3300,
            serial=5000 + back,
            record_interval_s=10,
            altitude_profile=[(0.0, 100.0), (0.5, 130.0), (1.0, 100.0)],
        )
        (folder / f"r{back}.fit").write_bytes(encode_activity(spec))
    assert runner.invoke(app, ["--config", str(config), "import", str(folder)]).exit_code == 0
    res = runner.invoke(app, ["--config", str(config), "plan", "check", "--distance-km", "12", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"date", "planned", "verdict", "limits", "findings", "stored"}
    assert out["verdict"] == "caution" and [f["rule"] for f in out["findings"]] == ["run_spike"]
    assert out["findings"][0]["numbers"]["increase_pct"] == 20.0 and out["limits"]["max_distance_km"] == 11.0
    res = runner.invoke(app, ["--config", str(config), "plan", "check", "--distance-km", "10.5"])
    assert res.exit_code == 0 and "-> OK" in res.stdout and "distance up to 11 km" in res.stdout
    res = runner.invoke(app, ["--config", str(config), "plan", "check", "--distance-km", "-2"])
    assert res.exit_code == 2 and "planned distance (km) -2.0 is not allowed" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("break_weeks", [0, 2, 4])
def test_the_check_on_the_engines_last_days_equals_it_on_the_whole_series(monkeypatch, break_weeks) -> None:
    """The pre-run check asks the engine for its last REPORT_DAYS only; after a break of up to 4 weeks (the
    weekly ramp then compares with the 4 weeks before the break) the findings are those of the whole series."""
    from alerts import plan as pure
    from alerts.rules import RuleThresholds
    from loadmon.engine import EngineSettings
    from tests.alerts.conftest import ATHLETE, Runs

    day = date(2026, 6, 30)
    runs = Runs()
    last_before_break = day - timedelta(days=7 * break_weeks + 1)
    for back in range(200, 0, -1):
        d = day - timedelta(days=back)
        if d <= last_before_break and back % 2 == 0:
            runs.add(d, 8.0, descent=40.0)
    planned = pure.PlannedRun(
        day=day, start_time=datetime.combine(day, time(9, 0), tzinfo=ZoneInfo("UTC")), distance_km=30.0, descent_m=200.0
    )

    def check():
        return pure.check_plan(
            athlete=ATHLETE, activities=runs.items, symptoms=(), planned=planned, settings=EngineSettings(), thresholds=RuleThresholds()
        )

    trimmed = check()
    monkeypatch.setattr(pure, "REPORT_DAYS", 100_000)
    whole = check()
    assert trimmed.findings == whole.findings and trimmed.limits == whole.limits
    assert {a.rule for a in whole.findings} >= {"weekly_ramp", "run_spike"}
