"""/plan and /api/plan: the pre-run check on the web (the same JSON as `loadmon plan check --json`), and
Today's comeback limits while a lower-limb symptom is being watched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.service import plan as plan_service
from loadmon.service import symptoms as symptom_service
from tests.web.conftest import import_demo_runs


def test_plan_needs_a_login(web):
    with web.client() as c:
        assert c.get("/plan?distance_km=5").status_code == 303
        assert c.get("/api/plan?distance_km=5").status_code == 401


@pytest.mark.slow
def test_plan_page_and_api_give_the_cli_check(web, tmp_path):
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date())
    ann = web.svc.athlete("ann")
    expected = plan_service.plan_json(plan_service.check(web.svc, ann, distance_km=30, descent_m=500))
    assert expected["verdict"] in ("caution", "danger") and expected["findings"]
    with web.client() as c:
        web.login(c)
        api = c.get("/api/plan", params={"distance_km": "30", "descent_m": "500"})
        assert api.status_code == 200 and api.json() == expected
        page = c.get("/plan", params={"distance_km": "30", "descent_m": "500"})
        assert page.status_code == 200
        assert f"30.0 km, 500 m down on {expected['date']}:" in page.text
        for f in expected["findings"]:
            assert f"<code>{f['rule']}</code>" in page.text
        assert f"up to {expected['limits']['max_distance_km']} km" in page.text
        limits_only = c.get("/plan")  # no distance: the day's limits alone
        assert limits_only.status_code == 200 and 'id="limits"' in limits_only.text and 'id="verdict"' not in limits_only.text
        bad = c.get("/plan", params={"distance_km": "<b>x</b>"})
        assert bad.status_code == 400 and "&lt;b&gt;x&lt;/b&gt;" in bad.text and "<b>x</b>" not in bad.text
        assert c.get("/api/plan", params={"distance_km": "-1"}).json()["error"].startswith("planned distance (km)")
        assert c.get("/api/plan").status_code == 400
        assert c.post("/plan").status_code in (403, 405)  # a check only: no state change by POST


@pytest.mark.slow
def test_today_shows_the_comeback_limits_while_a_symptom_is_watched(web, tmp_path):
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date())
    ann = web.svc.athlete("ann")
    with web.client() as c:
        web.login(c)
        assert 'id="comeback"' not in c.get("/").text
        knee = symptom_service.add_symptom(web.svc, ann, "knee", "right", "lateral", 4, web.clock.now - timedelta(days=1))
        page = c.get("/").text
        assert 'id="comeback"' in page and "Comeback limits today" in page
        symptom_service.update_severity(web.svc, ann, knee.id, 6, web.clock.now - timedelta(hours=1))
        page = c.get("/").text
        assert "Rest today" in page and "6/10" in page
        assert 'action="/plan"' in page


@pytest.mark.slow
def test_another_athletes_data_never_enters_the_check(web, tmp_path):
    import_demo_runs(web.svc, "bob", tmp_path / "fit", end=web.clock.now.date())
    with web.client() as c:
        web.login(c)  # ann: no runs
        out = c.get("/api/plan", params={"distance_km": "10"}).json()
        assert out["limits"]["max_distance_km"] is None and out["limits"]["max_distance_reason"] == "warming up"
