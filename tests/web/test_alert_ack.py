"""One alert's page (/alerts/{id}) and acknowledging it: the web button, `loadmon alerts ack`, the JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from loadmon.service import alerting
from tests.web.browser import browser  # noqa: F401
from tests.web.conftest import csrf_of, import_demo_runs


@pytest.fixture
def alerts_of(web, tmp_path):
    """Demo runs of the last 70 days for an athlete, evaluated: their alerts (oldest first)."""

    def make(name: str) -> list[dict]:
        import_demo_runs(web.svc, name, tmp_path / f"fit-{name}", end=web.clock.now.date())
        alerting.evaluate(web.svc, [web.svc.athlete(name).id])
        found = [a for a in alerting.list_alerts(web.svc, web.svc.athlete(name)) if a["state"] == "active"]
        assert found, "the demo runs raise alerts"
        return found

    return make


def _cli(web, *args: str) -> tuple[int, str]:
    from loadmon.cli import app

    r = CliRunner().invoke(app, ["--config", str(web.config_path), *args])
    return r.exit_code, r.stdout


@pytest.mark.slow
def test_the_alert_page_shows_everything_then_acknowledge_takes_it_off_today(web, alerts_of):
    from markupsafe import escape

    alert = alerts_of("ann")[-1]
    recent = alerting.list_alerts(web.svc, web.svc.athlete("ann"), since=web.clock.now.date() - timedelta(days=10))
    with web.client() as c:
        web.login(c)
        listing = c.get("/alerts").text
        assert f'href="/alerts/{alert["id"]}"' in listing
        page = c.get(f"/alerts/{alert['id']}").text
        assert str(escape(alert["message"])) in page and str(escape(alert["rule_text"])) in page
        assert str(escape(alert["evidence"])) in page
        for key in alert["numbers"]:
            assert key.replace("_", " ") in page, key
        assert 'id="deliveries"' in page and f'action="/alerts/{alert["id"]}/acknowledge"' in page
        assert 'id="acknowledged"' not in page
        today = c.get("/").text
        assert any(f'href="/alerts/{a["id"]}"' in today for a in recent)

        r = c.post(f"/alerts/{alert['id']}/acknowledge", data={"csrf_token": csrf_of(page)})
        assert (r.status_code, r.headers["location"]) == (303, f"/alerts/{alert['id']}")
        page = c.get(f"/alerts/{alert['id']}").text
        assert 'id="acknowledged"' in page and "/acknowledge" not in page
        assert 'class="muted acknowledged"' in c.get("/alerts").text
        assert f'href="/alerts/{alert["id"]}"' not in c.get("/").text  # no longer an open alert
        (api,) = [a for a in c.get("/api/alerts", params={"limit": "0"}).json() if a["id"] == alert["id"]]
    stored = alerting.get_alert(web.svc, web.svc.athlete("ann"), alert["id"])
    assert stored["acknowledged_at"] == web.clock.now.isoformat() == api["acknowledged_at"]


@pytest.mark.slow
def test_acknowledge_needs_the_csrf_token(web, alerts_of):
    alert = alerts_of("ann")[-1]
    with web.client() as c:
        web.login(c)
        assert c.post(f"/alerts/{alert['id']}/acknowledge", data={"csrf_token": "wrong"}).status_code == 403
        assert c.post(f"/alerts/{alert['id']}/acknowledge").status_code == 403
    assert alerting.get_alert(web.svc, web.svc.athlete("ann"), alert["id"])["acknowledged_at"] is None


@pytest.mark.slow
def test_another_athletes_alert_is_404_and_never_shown_nor_acknowledged(web, alerts_of):
    theirs = alerts_of("bob")[-1]
    with web.client() as c:
        web.login(c, "ann")
        token = csrf_of(c.get("/alerts").text)
        r = c.get(f"/alerts/{theirs['id']}")
        assert r.status_code == 404 and theirs["message"] not in r.text and "bob" not in r.text
        assert c.post(f"/alerts/{theirs['id']}/acknowledge", data={"csrf_token": token}).status_code == 404
        for bad in ("999999", "abc", "0", "-1", str(2**63)):
            assert c.get(f"/alerts/{bad}").status_code == 404, bad
            assert c.post(f"/alerts/{bad}/acknowledge", data={"csrf_token": token}).status_code == 404, bad
    assert alerting.get_alert(web.svc, web.svc.athlete("bob"), theirs["id"])["acknowledged_at"] is None


@pytest.mark.slow
def test_cli_ack_acknowledges_once_and_refuses_another_athletes_alert(web, alerts_of):
    anns, bobs = alerts_of("ann"), alerts_of("bob")
    code, _ = _cli(web, "alerts", "ack", str(bobs[-1]["id"]), "--athlete", "ann")
    assert code != 0
    assert alerting.get_alert(web.svc, web.svc.athlete("bob"), bobs[-1]["id"])["acknowledged_at"] is None
    code, out = _cli(web, "alerts", "ack", str(anns[-1]["id"]), "--athlete", "ann", "--json")
    assert code == 0, out
    first = json.loads(out)
    at = datetime.fromisoformat(first["acknowledged_at"])
    assert first["id"] == anns[-1]["id"] and abs(datetime.now(UTC) - at) < timedelta(minutes=1)  # the CLI's clock
    code, out = _cli(web, "alerts", "ack", str(anns[-1]["id"]), "--athlete", "ann")
    stamp = at.strftime("%Y-%m-%d %H:%M")
    assert code == 0 and f"alert {anns[-1]['id']} of ann acknowledged at {stamp} UTC" in out, out
    code, out = _cli(web, "--athlete", "ann", "alerts", "--json", "--limit", "0")
    listed = {a["id"]: a["acknowledged_at"] for a in json.loads(out)}
    assert listed[anns[-1]["id"]] == first["acknowledged_at"]  # the first time is kept
    assert [i for i, at in listed.items() if at is not None] == [anns[-1]["id"]]


@pytest.mark.chromium
@pytest.mark.slow
def test_acknowledge_in_the_browser_at_360_px(web, alerts_of, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    from tests.web.browser import NO_SIDEWAYS_SCROLL, console_errors, fill, settle
    from tests.web.conftest import PASSWORD

    alert = alerts_of("ann")[-1]
    driver = browser(width=360, height=800, mobile=True)
    driver.get(f"{web.base_url}/login")
    fill(driver, {"username": "ann", "password": PASSWORD})
    settle(driver, "/")
    driver.get(f"{web.base_url}/alerts")
    settle(driver, "/alerts")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    driver.find_element(By.CSS_SELECTOR, f'a[href="/alerts/{alert["id"]}"]').click()
    settle(driver, f"/alerts/{alert['id']}")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    driver.find_element(By.CSS_SELECTOR, "#acknowledge button[type=submit]").click()
    found = WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "acknowledged"))  # the same path, reloaded
    settle(driver, f"/alerts/{alert['id']}")
    assert found[0].text.startswith("Acknowledged ")
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    assert console_errors(driver) == []
    assert alerting.get_alert(web.svc, web.svc.athlete("ann"), alert["id"])["acknowledged_at"] is not None
