"""The Charts page and /api/charts: a login needed, the engine's own numbers (nulls kept), symptoms and
alerts marked, another athlete's data never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.engine import ACWR_KINDS, compute_load
from loadmon.service import alerting, load
from loadmon.service import symptoms as symptom_service
from tests.web.conftest import import_demo_runs


def _engine(svc, name):
    athlete = svc.athlete(name)
    day = load.today_for(svc, athlete)
    activities = svc.store.list_activities(athlete.id, until=day)
    return compute_load(activities, athlete, load.engine_settings(svc.config), until=day)


def _r(value, digits):
    return None if value is None else round(value, digits) + 0.0


def test_charts_need_a_login(web):
    with web.client() as c:
        assert (c.get("/charts").status_code, c.get("/charts").headers.get("location")) == (303, "/login")
        r = c.get("/api/charts")
        assert r.status_code == 401 and r.json() == {"error": "login required"}


def test_the_page_loads_the_vendored_chart_library_and_its_script(web):
    with web.client() as c:
        web.login(c)
        page = c.get("/charts").text
        assert 'href="/charts"' in c.get("/").text  # the nav link
        for asset in ("/static/vendor/uplot/uPlot.iife.min.js", "/static/vendor/uplot/uPlot.min.css", "/static/charts.js"):
            assert asset in page, asset
            r = c.get(asset)
            assert r.status_code == 200 and len(r.content) > 1000, asset
        assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no CDN
        assert b"MIT License" in c.get("/static/vendor/uplot/LICENSE").content


@pytest.mark.slow
def test_series_equal_the_engines_for_a_known_history(web, tmp_path):
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date(), days=70)
    result = _engine(web.svc, "ann")
    series = result.channels["distance_km"]
    with web.client() as c:
        web.login(c)
        data = c.get("/api/charts").json()
    assert data["channel"] == "distance_km" and data["unit"] == "km"
    assert data["first_day"] == series.first_day.isoformat() and data["last_day"] == series.last_day.isoformat()
    assert data["days"] == len(series) > 60
    for kind in ACWR_KINDS:
        values = data["acwr"][kind]["values"]
        assert values == [_r(v, 3) for v in series.column(f"acwr_{kind}")], kind
        assert values[0] is None and values[-1] is not None  # warming up: a gap (null), never 0
    for key in ("fitness", "fatigue", "form"):
        assert data["pmc"][key]["values"] == [_r(v, 2) for v in series.column(key)], key
    # weekly sums: Monday-start weeks of the engine's daily loads
    for name, digits in (("distance_km", 2), ("descent_m", 1)):
        s = result.channels[name]
        weeks: dict[str, float] = {}
        for day, value in zip(s.dates, s.column("load")):
            monday = (day - timedelta(days=day.weekday())).isoformat()
            weeks[monday] = weeks.get(monday, 0.0) + value
        weekly = data["weekly"][name]
        assert weekly["available"] and weekly["weeks"] == list(weeks)
        assert weekly["values"] == [_r(v, digits) for v in weeks.values()]
        assert sum(weekly["values"]) > 0


@pytest.mark.slow
def test_symptoms_and_alerts_are_marked(web, tmp_path):
    now = web.clock.now
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=now.date(), days=70)
    ann = web.svc.athlete("ann")
    symptom_service.add_symptom(web.svc, ann, "knee", "left", None, 5, at=now - timedelta(days=10), note="sore knee")
    alerting.evaluate(web.svc, [ann.id])
    alerts = [a for a in web.svc.store.list_alerts(ann.id) if a["state"] == "active"]
    assert alerts, "the demo story's runs raise alerts"
    with web.client() as c:
        web.login(c)
        data = c.get("/api/charts").json()
    (symptom,) = data["symptoms"]
    assert symptom["start"] == (now - timedelta(days=10)).astimezone(_zone(ann)).date().isoformat()
    assert symptom["end"] == data["last_day"] and "knee (left), severity 5/10" in symptom["text"]
    assert "sore knee" in symptom["text"]
    assert sorted(a["date"] for a in data["alerts"]) == sorted(a["local_date"].isoformat() for a in alerts)
    assert {a["severity"] for a in data["alerts"]} <= {"info", "warning", "danger"}


def _zone(athlete):
    from zoneinfo import ZoneInfo

    return ZoneInfo(athlete.timezone)


@pytest.mark.slow
def test_another_athletes_data_never_appear(web, tmp_path):
    now = web.clock.now
    import_demo_runs(web.svc, "bob", tmp_path / "fit", end=now.date(), days=70)
    bob = web.svc.athlete("bob")
    symptom_service.add_symptom(web.svc, bob, "achilles", "right", None, 7, at=now - timedelta(days=3), note="bob private note")
    with web.client() as c:
        web.login(c, "ann")
        data = c.get("/api/charts").json()
        page = c.get("/charts").text
    assert data["athlete"] == "ann" and data["days"] == 0 and data["history_start"] is None
    assert data["symptoms"] == [] and data["alerts"] == [] and data["acwr"] == {} and data["weekly"] == {}
    assert "bob" not in str(data) and "bob" not in page
    with web.client() as c:
        web.login(c, "bob")
        theirs = c.get("/api/charts").json()
    assert theirs["days"] > 60 and "bob private note" in str(theirs["symptoms"])


def test_without_runs_the_ratios_follow_another_channel_as_in_the_report(web):
    from datetime import UTC, datetime

    from loadmon.domain import ActivityRecord

    bob = web.svc.athlete("bob")
    start = datetime.combine(web.clock.now.date() - timedelta(days=40), datetime.min.time(), tzinfo=UTC)
    rides = [
        ActivityRecord(
            source="fit",
            source_id=i,
            sport="cycling",
            start_time=start + timedelta(days=i, hours=17),
            distance_m=30_000.0,
            moving_time_s=3600.0 + 60 * i,
            content_hash=f"ride-{i}",
        )
        for i in range(0, 40, 2)
    ]
    web.svc.store.record_import(bob.id, path="rides.zip", content_hash="r", records=rides, outcome="imported")
    with web.client() as c:
        web.login(c, "bob")
        data = c.get("/api/charts").json()
    assert (data["channel"], data["unit"]) == ("duration_min", "min") and data["days"] > 30
    assert data["weekly"]["distance_km"]["available"] is False and data["weekly"]["distance_km"]["reason"]
    assert data["pmc"]["fitness"]["values"][-1] > 0
