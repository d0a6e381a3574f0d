"""Selenium on Debian's headless Chromium: the Charts page drawn by uPlot on a desktop and at 360 px."""

from __future__ import annotations

import re
import time

import pytest

from loadmon.service import alerting
from loadmon.service import symptoms as symptom_service
from tests.web.browser import NO_SIDEWAYS_SCROLL, browser, console_errors, fill, settle  # noqa: F401
from tests.web.conftest import PASSWORD, import_demo_runs

CHARTS = ("chart-weekly-distance_km", "chart-weekly-descent_m", "chart-acwr", "chart-pmc")

#: Each chart's canvas: its CSS size and whether any pixel is painted.
CANVASES = """
return [...document.querySelectorAll('figure.chart')].map(f => {
  const c = f.querySelector('canvas');
  if (!c) return [f.id, 0, 0, false];
  const r = c.getBoundingClientRect();
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = false;
  for (let i = 3; i < px.length; i += 4) { if (px[i]) { painted = true; break; } }
  return [f.id, r.width, r.height, painted];
});
"""

#: The time range shown by every chart, in seconds.
X_RANGES = "return window.loadmonCharts.map(c => [c.scales.x.min, c.scales.x.max])"


def _wait_for(driver, script, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


@pytest.mark.chromium
@pytest.mark.slow
@pytest.mark.parametrize(("width", "mobile"), [(1280, False), (360, True)])
def test_charts_are_drawn_and_show_values_on_hover(web, browser, tmp_path, width, mobile):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    now = web.clock.now
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=now.date())
    ann = web.svc.athlete("ann")
    from datetime import timedelta

    symptom_service.add_symptom(web.svc, ann, "knee", "left", None, 4, at=now - timedelta(days=10), note="stiff")
    alerting.evaluate(web.svc, [ann.id])
    driver = browser(width=width, height=900, mobile=mobile)
    driver.get(f"{web.base_url}/login")
    fill(driver, {"username": "ann", "password": PASSWORD})
    settle(driver, "/")
    driver.get(f"{web.base_url}/charts")
    settle(driver, "/charts")
    _wait_for(driver, "return document.querySelectorAll('figure.chart canvas').length === 4")
    canvases = driver.execute_script(CANVASES)
    assert [c[0] for c in canvases] == list(CHARTS)
    for chart_id, w, h, painted in canvases:
        assert w > 150 and h > 100 and painted, (chart_id, w, h, painted)
        assert w <= width, chart_id
    assert "symptoms" in driver.find_element(By.ID, "charts-status").text
    labels = driver.execute_script("return [...document.querySelectorAll('figure.chart canvas')].map(c => c.getAttribute('aria-label'))")
    assert all(label and "latest" in label for label in labels), labels
    assert re.search(r"EWMA 7/28 \(Williams 2017\) \d+\.\d\d", labels[2]), labels[2]
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)

    # hover near the right end of the ACWR chart: its legend shows that day's values
    over = driver.find_element(By.CSS_SELECTOR, "#chart-acwr .u-over")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", over)
    size = over.size
    # uPlot reads the plot's position on the scroll event: let it arrive before the pointer moves
    driver.execute_async_script("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done))")
    time.sleep(0.3)
    ActionChains(driver).move_to_element_with_offset(over, int(size["width"] * 0.45), 0).perform()
    values = _wait_for(
        driver,
        "const v = [...document.querySelectorAll('#chart-acwr .u-legend .u-value')]"
        ".map(e => e.textContent); return v.some(t => /\\d\\.\\d\\d/.test(t)) && v",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", values[0]), values
    assert any(re.fullmatch(r"\d+\.\d\d", v) for v in values[1:]), values
    # the hovered day falls in the symptom (the last 10 days): its words appear under the chart
    marks = driver.find_element(By.CSS_SELECTOR, "#chart-acwr .marks").text
    assert "Symptom: knee (left), severity 4/10" in marks, marks

    # drag across a chart: every chart zooms to that period; Reset zoom goes back
    before = driver.execute_script(X_RANGES)
    assert len(set(map(tuple, before))) == 1, before
    drag = ActionChains(driver).move_to_element_with_offset(over, -int(size["width"] * 0.3), 0).click_and_hold()
    drag.move_by_offset(int(size["width"] * 0.3), 0).release().perform()
    zoomed = _wait_for(driver, f"const r = {X_RANGES[7:]}; return r[0][0] > {before[0][0]} && r")
    assert len(set(map(tuple, zoomed))) == 1 and zoomed[0][1] - zoomed[0][0] < (before[0][1] - before[0][0]) / 2
    driver.find_element(By.ID, "chart-reset").click()
    assert driver.execute_script(X_RANGES) == before
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    assert console_errors(driver) == []
