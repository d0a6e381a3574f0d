"""Selenium driving Debian's headless Chromium through Debian's chromedriver.

Both binaries come from the Debian packages ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them); the driver is named by path, so Selenium Manager never downloads anything.
``browser(width=..., height=..., mobile=True)`` gives a driver whose viewport is a phone's
(device metrics with ``mobile=True`` honour the viewport meta tag, as a phone does);
``console_errors(driver)`` returns the console's error lines since the last call.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

NO_SIDEWAYS_SCROLL = "return document.documentElement.scrollWidth <= window.innerWidth"


def binaries() -> tuple[str, str] | None:
    """(chromium, chromedriver) from PATH, or None."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def new_driver(profile: Path, *, width: int, height: int, mobile: bool) -> Any:
    found = binaries()
    if found is None:
        why = "no chromium/chromedriver on PATH (Debian packages 'chromium' and 'chromium-driver')"
        if os.environ.get("LOADMON_REQUIRE_BROWSER"):
            pytest.fail(why + "; LOADMON_REQUIRE_BROWSER is set (as .ci/run does)")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    chromium, chromedriver = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=chromedriver))
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile}
    )
    return driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """A factory: ``browser(width=360, height=800, mobile=True)``; every driver quits at the end."""
    drivers: list[Any] = []

    def make(*, width: int = 1280, height: int = 900, mobile: bool = False) -> Any:
        driver = new_driver(tmp_path / f"profile-{len(drivers)}", width=width, height=height, mobile=mobile)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    """The console's SEVERE lines (errors, failed loads) since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def settle(driver: Any, path: str, timeout_s: float = 30.0) -> None:
    """Wait until the tab shows ``path``, fully loaded."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if driver.execute_script("return location.pathname + ' ' + document.readyState") == f"{path} complete":
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the page did not reach {path}: {driver.current_url}")


def wait_for(driver: Any, css: str, timeout_s: float = 30.0) -> Any:
    """The first element matching ``css`` once it is there (after a form posts back to the same path,
    :func:`settle` can return before the new page replaced the old one)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(driver, timeout_s).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def fill(driver: Any, values: dict[str, str], *, form: str = "main form") -> None:
    """Type each value into the form's field of that name (a select picks by value), then submit."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    element = driver.find_element(By.CSS_SELECTOR, form)
    for name, value in values.items():
        field = element.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        elif field.get_attribute("type") in ("datetime-local", "date", "range", "number"):
            driver.execute_script("arguments[0].value = arguments[1]", field, value)
        else:
            field.clear()
            field.send_keys(value)
    element.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)
