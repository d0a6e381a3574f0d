"""Selenium on Debian's headless Chromium at 360 px: upload a generated FIT file with the file input,
read its result, open the run's page and see its elevation profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.fit.factory import RunSpec, encode_activity
from tests.web.browser import NO_SIDEWAYS_SCROLL, browser, console_errors, fill, settle, text_of, wait_for  # noqa: F401
from tests.web.conftest import PASSWORD


@pytest.mark.chromium
@pytest.mark.slow
def test_upload_a_fit_file_then_see_the_run_and_its_profile_at_360_px(web, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    start = (web.clock.now - timedelta(days=1)).replace(microsecond=0)
    path = tmp_path / "hill repeats.fit"
    path.write_bytes(
        encode_activity(
            RunSpec(
                start=start,
                distance_m=9000,
                duration_s=3000,
                serial=4242,
                altitude_profile=[(0.0, 40.0), (0.3, 160.0), (0.6, 60.0), (1.0, 45.0)],
                record_interval_s=5,
            )
        )
    )
    driver = browser(width=360, height=780, mobile=True)
    driver.get(f"{web.base_url}/login")
    fill(driver, {"username": "ann", "password": PASSWORD})
    settle(driver, "/")
    driver.find_element(By.LINK_TEXT, "Upload").click()
    settle(driver, "/upload")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    assert driver.execute_script("return document.getElementById('files').labels.length") == 1
    driver.find_element(By.ID, "files").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(driver, "#upload-results")
    settle(driver, "/upload")
    results = text_of(driver, "upload-results")
    assert "hill repeats.fit: imported: 1 new activity" in results and str(tmp_path) not in results
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)

    (activity,) = web.svc.store.list_activities(web.svc.athlete("ann").id)
    driver.find_element(By.CSS_SELECTOR, f'#upload-results a[href="/activities/{activity.id}"]').click()
    settle(driver, f"/activities/{activity.id}")
    assert text_of(driver, "distance") == "9.00 km"
    svg = driver.find_element(By.CSS_SELECTOR, "svg.profile")
    assert "elevation profile over 9.00 km" in (svg.get_attribute("aria-label") or "")
    width = driver.execute_script("return arguments[0].getBoundingClientRect().width", svg)
    assert 250 <= width <= 360
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)

    driver.find_element(By.LINK_TEXT, "All activities").click()
    settle(driver, "/activities")
    assert f"/activities/{activity.id}" in (driver.find_element(By.CSS_SELECTOR, "#activity-list a").get_attribute("href") or "")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    assert console_errors(driver) == []
