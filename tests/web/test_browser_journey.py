"""The runner's whole visit, in Selenium on Debian's headless Chromium at 360 px (issue 13's browser
suite in one flow): log in; Today's numbers equal ``loadmon status --json`` (the real command); log
knee pain; upload a long hilly run; see the run and its alert; open the alert and acknowledge it;
no console error and no sideways scroll on any page on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from connectors.fit.factory import RunSpec, encode_activity
from loadmon.service import alerting
from loadmon.service import symptoms as symptom_service
from tests.web.browser import NO_SIDEWAYS_SCROLL, browser, console_errors, fill, settle, text_of, wait_for  # noqa: F401
from tests.web.conftest import PASSWORD, import_demo_runs


def _status_json(web, tmp_path) -> dict:
    env = {**os.environ, "LOADMON_DATA_DIR": str(tmp_path / "data")}
    cli = subprocess.run(
        [sys.executable, "-m", "loadmon", "--config", str(web.config_path), "--athlete", "ann", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(cli.stdout)


@pytest.mark.chromium
@pytest.mark.slow
def test_a_runners_visit_on_a_phone(web, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    today = web.clock.now.date()
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=today - timedelta(days=3))
    status = _status_json(web, tmp_path)
    driver = browser(width=360, height=780, mobile=True)
    seen: list[str] = []

    def at(path: str) -> None:
        settle(driver, path)
        assert driver.execute_script(NO_SIDEWAYS_SCROLL), f"sideways scroll on {path} at 360 px"
        seen.append(path)

    driver.get(f"{web.base_url}/login")
    at("/login")
    fill(driver, {"username": "ann", "password": PASSWORD})
    at("/")
    dist = status["channels"]["distance_km"]
    volume = text_of(driver, "volume")
    assert f"{dist['acute_7d']:.1f} km" in volume and f"{dist['previous_7d']:.1f} km" in volume
    acwr = text_of(driver, "acwr")
    for kind, value in dist["acwr"].items():
        assert (f"{value:.2f}" if value is not None else f"not yet: {dist['acwr_reasons'][kind]}") in acwr
    longest_km = status["longest_run_30d"]["distance_km"]
    assert f"{longest_km:.2f} km" in text_of(driver, "longest")
    assert f"{longest_km * 1.10:.2f} km" in text_of(driver, "spike")

    driver.find_element(By.CSS_SELECTOR, 'a[href="/symptoms/new"]').click()
    at("/symptoms/new")
    fill(driver, {"site": "knee", "side": "left", "location": "outer", "severity": "3", "note": "ITB? <b>sore</b>"})
    at("/symptoms")
    assert "ITB? <b>sore</b>" in text_of(driver, "symptom-list")  # shown as text, not markup
    (symptom,) = symptom_service.list_symptoms(web.svc, web.svc.athlete("ann"))
    assert (symptom.site, symptom.side, symptom.location, symptom.severity) == ("knee", "left", "outer", 3)

    # a long downhill run: more than double the longest of 30 days, 600 m down
    path = tmp_path / "long downhill.fit"
    distance_m = round(longest_km * 2.2 * 1000)
    path.write_bytes(
        encode_activity(
            RunSpec(
                start=(web.clock.now - timedelta(hours=3)).replace(microsecond=0),
                distance_m=distance_m,
                duration_s=round(distance_m * 0.33),
                serial=777,
                record_interval_s=5,
                altitude_profile=[(0.0, 700.0), (0.15, 720.0), (0.9, 110.0), (1.0, 100.0)],
            )
        )
    )
    driver.find_element(By.LINK_TEXT, "Upload").click()
    at("/upload")
    driver.find_element(By.ID, "files").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(driver, "#upload-results")
    at("/upload")
    assert "long downhill.fit: imported: 1 new activity" in text_of(driver, "upload-results")
    run = max(web.svc.store.list_activities(web.svc.athlete("ann").id), key=lambda a: a.start_time)
    driver.find_element(By.CSS_SELECTOR, f'#upload-results a[href="/activities/{run.id}"]').click()
    at(f"/activities/{run.id}")
    assert text_of(driver, "distance") == f"{distance_m / 1000:.2f} km"
    assert "more than double" in text_of(driver, "spike")
    alerts = [a for a in alerting.list_alerts(web.svc, web.svc.athlete("ann")) if a.get("activity_id") == run.id]
    assert {a["rule"] for a in alerts} >= {"run_spike"}, alerts
    spike = next(a for a in alerts if a["rule"] == "run_spike")
    driver.find_element(By.CSS_SELECTOR, f'a[href="/alerts/{spike["id"]}"]').click()
    at(f"/alerts/{spike['id']}")
    assert text_of(driver, "rule") and text_of(driver, "evidence")
    driver.find_element(By.CSS_SELECTOR, "#acknowledge button[type=submit]").click()
    wait_for(driver, "#acknowledged")  # the same path, reloaded
    settle(driver, f"/alerts/{spike['id']}")
    assert text_of(driver, "acknowledged").startswith("Acknowledged ")
    assert alerting.get_alert(web.svc, web.svc.athlete("ann"), spike["id"])["acknowledged_at"] is not None

    driver.find_element(By.LINK_TEXT, "Today").click()
    at("/")
    open_alerts = driver.find_elements(By.CSS_SELECTOR, f'#alerts a[href="/alerts/{spike["id"]}"]')
    assert open_alerts == []  # acknowledged: no longer open on Today
    assert console_errors(driver) == [], seen
