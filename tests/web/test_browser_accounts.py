"""Selenium on Debian's headless Chromium at 360 px: the Settings, Club and Users pages of an admin."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.service import users as user_service
from tests.web.browser import NO_SIDEWAYS_SCROLL, browser, console_errors, fill, settle  # noqa: F401
from tests.web.conftest import PASSWORD

LABELLED = (
    "return [...document.querySelectorAll('main form input:not([type=hidden]), main form select,"
    " main form textarea')].every(e => e.labels.length === 1)"
)


def shows(driver, condition: str, timeout_s: float = 30.0) -> None:
    """Wait until the JavaScript ``condition`` holds in the tab."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if driver.execute_script(f"return !!({condition})"):
                return
        except Exception:  # the page is being replaced
            pass
        time.sleep(0.05)
    raise AssertionError(f"the page never showed {condition}: {driver.current_url}")


@pytest.mark.chromium
@pytest.mark.slow
def test_settings_club_and_users_at_360_px(web, browser):  # noqa: F811
    user_service.add_user(web.svc, "root", athlete_name="ann", role="admin", password=PASSWORD)
    bob = web.svc.athlete("bob")
    web.svc.store.upsert_activity(
        bob.id,
        ActivityRecord(source="strava", source_id=77, sport="running", start_time=web.clock.now - timedelta(days=1),
                       distance_m=15_000.0, moving_time_s=4500.0, elapsed_time_s=4600.0, elevation_gain_m=10.0,
                       elevation_loss_m=10.0, elevation_source=ElevationSource.DEVICE, content_hash="s77"),
    )  # fmt: skip
    driver = browser(width=360, height=800, mobile=True)
    driver.get(f"{web.base_url}/login")
    fill(driver, {"username": "root", "password": PASSWORD})
    settle(driver, "/")

    driver.get(f"{web.base_url}/settings")
    settle(driver, "/settings")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL) and driver.execute_script(LABELLED)
    fill(driver, {"timezone": "Nowhere/Land", "hr_rest": "50"})
    shows(driver, "document.getElementById('timezone-error')")  # the same path: settle() would not wait
    assert "Time zone: unknown time zone" in driver.find_element("id", "timezone-error").text
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    # the refused form answers 400 (Chromium logs every 4xx page load); nothing else is logged
    assert [e for e in console_errors(driver) if "/settings - Failed to load resource" not in e or "400" not in e] == []
    fill(driver, {"timezone": "Europe/Oslo"})
    shows(driver, "location.search === '?saved=1' && document.readyState === 'complete'")
    assert web.svc.athlete("ann").timezone == "Europe/Oslo"

    driver.get(f"{web.base_url}/club")
    settle(driver, "/club")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    # bob has only Strava data: the coach sees that it is withheld (Strava's terms), not its numbers
    assert (
        "Strava-only: not shown to your coach (Strava's terms). (1 Strava activity" in driver.find_element("id", f"athlete-{bob.id}").text
    )

    driver.get(f"{web.base_url}/admin/users")
    settle(driver, "/admin/users")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL) and driver.execute_script(LABELLED)
    fill(driver, {"name": "cora", "athlete": "bob", "role": "coach", "password": "cora's password"},
         form='form[action="/admin/users"]')  # fmt: skip
    shows(driver, "location.search === '?done=added' && document.readyState === 'complete'")
    assert "User added." in driver.page_source and "cora" in driver.page_source
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    assert console_errors(driver) == []
