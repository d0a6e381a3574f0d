"""The JSON API: /api/session, /api/symptoms (GET, POST with X-CSRF-Token), /api/alerts, with the CLI's --json keys."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from loadmon.service import alerting
from loadmon.service import symptoms as symptom_service
from tests.web.conftest import import_demo_runs


def _cli_json(web, *args):
    from loadmon.cli import app

    r = CliRunner().invoke(app, ["--config", str(web.config_path), "--athlete", "ann", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_api_routes_need_a_session(web):
    with web.client() as c:
        for path in ("/api/session", "/api/symptoms", "/api/alerts"):
            assert c.get(path).status_code == 401, path
        assert c.post("/api/symptoms", json={"site": "knee", "severity": 2}).status_code == 401


def test_post_a_symptom_as_json_then_list_it_as_the_cli_does(web):
    at = (web.clock.now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    with web.client() as c:
        web.login(c)
        me = c.get("/api/session").json()
        assert (me["user"], me["athlete"], me["role"]) == ("ann", "ann", "athlete")
        body = {"site": "IT band", "side": "right", "severity": 3, "note": "<b>tight</b>", "at": at}
        assert c.post("/api/symptoms", json=body).status_code == 403  # no token
        assert c.post("/api/symptoms", json=body, headers={"X-CSRF-Token": "nope"}).status_code == 403
        r = c.post("/api/symptoms", json=body, headers={"X-CSRF-Token": me["csrf_token"]})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["symptom"]["site"] == "it_band" and created["symptom"]["note"] == "<b>tight</b>"
        assert "alerts_new" in created["alerts"]
        bad = c.post("/api/symptoms", json={**body, "severity": 12}, headers={"X-CSRF-Token": me["csrf_token"]})
        assert bad.status_code == 400 and "severity 12" in bad.json()["error"]
        assert c.post("/api/symptoms", content=b"[1,", headers={"X-CSRF-Token": me["csrf_token"],
                                                                 "Content-Type": "application/json"}).status_code == 400
        listed = c.get("/api/symptoms").json()
        assert c.get("/api/symptoms", params={"active": "1"}).json() == listed
    assert listed == _cli_json(web, "symptom", "list", "--json") == [created["symptom"]]


@pytest.mark.slow
def test_api_alerts_are_the_cli_json_of_the_athlete_only(web, tmp_path):
    day = web.clock.now.date()
    for name in ("ann", "bob"):
        import_demo_runs(web.svc, name, tmp_path / name, end=day)
        alerting.evaluate(web.svc, [web.svc.athlete(name).id])
    with web.client() as c:
        web.login(c)
        alerts = c.get("/api/alerts", params={"limit": "0"}).json()
        assert c.get("/api/alerts", params={"limit": "-1"}).status_code == 400
        since = c.get("/api/alerts", params={"since": (day - timedelta(days=14)).isoformat()}).json()
    assert alerts and {a["athlete"] for a in alerts} == {"ann"}
    assert alerts == _cli_json(web, "alerts", "--json", "--limit", "0")
    assert since == [a for a in alerts if a["local_date"] >= (day - timedelta(days=14)).isoformat()]


def test_another_athletes_symptoms_never_reach_the_api(web):
    symptom_service.add_symptom(web.svc, web.svc.athlete("bob"), "knee", "left", None, 5,
                                at=web.clock.now - timedelta(hours=1), note="bob only")
    with web.client() as c:
        web.login(c)
        assert c.get("/api/symptoms").json() == []
