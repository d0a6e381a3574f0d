"""Selenium on Debian's headless Chromium at phone widths: log in, read Today's numbers, log a symptom."""

from __future__ import annotations

import pytest

from loadmon.service import symptoms as symptom_service
from tests.web.browser import NO_SIDEWAYS_SCROLL, browser, console_errors, fill, settle, text_of  # noqa: F401
from tests.web.conftest import PASSWORD, import_demo_runs


@pytest.mark.chromium
@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 360])
def test_log_in_read_today_and_log_a_symptom_on_a_phone(web, browser, tmp_path, width):  # noqa: F811
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date())
    driver = browser(width=width, height=844, mobile=True)
    driver.get(f"{web.base_url}/login")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    fill(driver, {"username": "ann", "password": PASSWORD})
    settle(driver, "/")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    with web.client() as c:
        web.login(c)
        status = c.get("/api/status").json()
    dist = status["channels"]["distance_km"]
    volume = text_of(driver, "volume")
    assert f"{dist['acute_7d']:.1f} km" in volume and f"{dist['previous_7d']:.1f} km" in volume
    acwr = text_of(driver, "acwr")
    for value in dist["acwr"].values():
        assert (f"{value:.2f}" if value is not None else "not yet") in acwr
    assert f"{status['longest_run_30d']['distance_km']:.2f} km" in text_of(driver, "longest")

    driver.get(f"{web.base_url}/symptoms/new")
    settle(driver, "/symptoms/new")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    labelled = driver.execute_script(
        "return [...document.querySelectorAll('main form input:not([type=hidden]), main form select,"
        " main form textarea')].every(e => e.labels.length === 1)")
    assert labelled
    fill(driver, {"site": "achilles", "side": "left", "severity": "4", "note": "stiff in the morning"})
    settle(driver, "/symptoms")
    assert "stiff in the morning" in text_of(driver, "symptom-list")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    (s,) = symptom_service.list_symptoms(web.svc, web.svc.athlete("ann"))
    assert (s.site, s.side, s.severity, s.note) == ("achilles", "left", 4, "stiff in the morning")
    assert console_errors(driver) == []
