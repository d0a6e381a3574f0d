"""A real headless Chromium on a phone-sized viewport: log in, read Today's numbers, log a symptom."""

from __future__ import annotations

import json
import time

import pytest

from loadmon.service import symptoms as symptom_service
from tests.engine.browser import Chromium, chromium_binary
from tests.web.conftest import PASSWORD, import_demo_runs


@pytest.fixture
def browser(tmp_path):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium binary on PATH (install the Debian package 'chromium')")
    with Chromium(binary, tmp_path / "profile") as chromium:
        yield chromium


def _settle(browser: Chromium, path: str, timeout_s: float = 30.0) -> None:
    """Wait until the tab shows ``path``, fully loaded (a navigation destroys the page's context meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if browser.evaluate("location.pathname + ' ' + document.readyState") == f"{path} complete":
                return
        except RuntimeError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the page did not reach {path}: {browser.evaluate('location.href')}")


def _fill_and_submit(browser: Chromium, values: dict[str, str]) -> None:
    browser.evaluate(
        "(() => { const v = " + json.dumps(values) + "; const f = document.querySelector('main form');"
        " for (const [k, x] of Object.entries(v)) f.elements[k].value = x;"
        " f.querySelector('button[type=submit]').click(); })()")


NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.chromium
@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 360])
def test_log_in_read_today_and_log_a_symptom_on_a_phone(web, browser, tmp_path, width):
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date())
    browser.open(f"{web.base_url}/login", width=width, height=844, mobile=True)
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    _fill_and_submit(browser, {"username": "ann", "password": PASSWORD})
    _settle(browser, "/")
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    with web.client() as c:
        web.login(c)
        status = c.get("/api/status").json()
    dist = status["channels"]["distance_km"]
    volume = browser.evaluate("document.getElementById('volume').innerText")
    assert f"{dist['acute_7d']:.1f} km" in volume and f"{dist['previous_7d']:.1f} km" in volume
    acwr = browser.evaluate("document.getElementById('acwr').innerText")
    for value in dist["acwr"].values():
        assert (f"{value:.2f}" if value is not None else "not yet") in acwr
    assert f"{status['longest_run_30d']['distance_km']:.2f} km" in browser.evaluate(
        "document.getElementById('longest').innerText")

    browser.evaluate("location.href = '/symptoms/new'")
    _settle(browser, "/symptoms/new")
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    labelled = browser.evaluate("[...document.querySelectorAll('main form input:not([type=hidden]), main form select,"
                                " main form textarea')].every(e => e.labels.length === 1)")
    assert labelled
    _fill_and_submit(browser, {"site": "achilles", "side": "left", "severity": "4", "note": "stiff in the morning"})
    _settle(browser, "/symptoms")
    assert "stiff in the morning" in browser.evaluate("document.getElementById('symptom-list').innerText")
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    (s,) = symptom_service.list_symptoms(web.svc, web.svc.athlete("ann"))
    assert (s.site, s.side, s.severity, s.note) == ("achilles", "left", 4, "stiff in the morning")
