"""Selenium on Debian's headless Chromium at 360 px: the way back on a phone. Knee pain logged, the one-tap
morning check-in, then the planned-run check from Today: danger while the last reading is 6/10, the limits
relax after a check-in of 2. No console error, no sideways scroll."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.service import symptoms as symptom_service
from tests.web.browser import NO_SIDEWAYS_SCROLL, browser, console_errors, fill, settle, text_of, wait_for  # noqa: F401
from tests.web.conftest import PASSWORD, import_demo_runs


@pytest.mark.chromium
@pytest.mark.slow
def test_check_in_then_plan_a_run_at_360_px(web, browser, tmp_path):  # noqa: F811
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date())
    ann = web.svc.athlete("ann")
    knee = symptom_service.add_symptom(web.svc, ann, "knee", "right", "lateral", 6, web.clock.now - timedelta(days=1))
    driver = browser(width=360, height=800, mobile=True)
    driver.get(f"{web.base_url}/login")
    fill(driver, {"username": "ann", "password": PASSWORD})
    settle(driver, "/")

    # Today, in the comeback: rest (6/10 yesterday, no reading of 2 or less since); check a 5 km run
    assert "Rest today" in text_of(driver, "comeback")
    fill(driver, {"distance_km": "5"}, form="#plan-today")
    settle(driver, "/plan")
    assert "Danger" in wait_for(driver, "#verdict").text
    assert "returned_early" in text_of(driver, "findings") and "up to 0.0 km" in text_of(driver, "limits")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)

    # the morning check-in: one tap on 2
    driver.get(f"{web.base_url}/checkin")
    settle(driver, "/checkin")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    driver.find_element("css selector", f"#checkin-{knee.id} button[value='2']").click()
    assert "2/10" in wait_for(driver, "#checkin-recorded").text
    assert web.svc.store.list_symptoms(ann.id)[0].current_severity == 2

    driver.get(f"{web.base_url}/plan?distance_km=5")
    settle(driver, "/plan")
    assert "Caution" in wait_for(driver, "#verdict").text  # the comeback step alone now
    assert "up to 3.0 km" in text_of(driver, "limits")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    assert console_errors(driver) == []
