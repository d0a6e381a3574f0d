"""The installable app: the manifest and its icons, and (Selenium on Debian's Chromium at 360 px)
a symptom logged offline is kept by the page and arrives exactly once when back online."""

from __future__ import annotations

import json
import struct
import time
import zlib
from datetime import timedelta

import pytest

from loadmon.service import symptoms as symptom_service
from tests.web.browser import NO_SIDEWAYS_SCROLL, browser, console_errors, fill, settle  # noqa: F401
from tests.web.conftest import PASSWORD


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, after checking its signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, kinds = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        kinds.append(kind)
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    idat = b"".join(data[p + 8 : p + 8 + n] for p, n in _chunks(data, b"IDAT"))
    assert (depth, colour) == (8, 2) and len(zlib.decompress(idat)) == height * (1 + 3 * width)
    return width, height


def _chunks(data: bytes, kind: bytes) -> list[tuple[int, int]]:
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == kind:
            out.append((pos, length))
        pos += 12 + length
    return out


def test_the_manifest_and_its_icons_answer_without_a_login(web):
    with web.client() as c:
        r = c.get("/manifest.webmanifest")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/manifest+json")
        manifest = r.json()
        assert (manifest["name"], manifest["short_name"]) == ("loadmon: training load", "loadmon")
        assert (manifest["start_url"], manifest["display"], manifest["theme_color"]) == ("/", "standalone", "#12395b")
        sizes = set()
        for icon in manifest["icons"]:
            got = c.get(icon["src"])
            assert got.status_code == 200 and got.headers["content-type"] == "image/png" == icon["type"]
            width, height = _png_size(got.content)
            assert icon["sizes"] == f"{width}x{height}" and width == height
            sizes.add(width)
        assert sizes == {192, 512}
        sw = c.get("/sw.js")
        assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
        assert sw.headers["cache-control"] == "no-cache" and "/symptoms/new" in sw.text
        web.login(c)  # the pages link them
        page = c.get("/symptoms/new").text
        assert '<link rel="manifest" href="/manifest.webmanifest">' in page and 'src="/static/app.js"' in page
        assert 'data-offline="symptom"' in page


def _wait(driver, script: str, timeout_s: float = 30.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or script}")


def _offline(driver, offline: bool) -> None:
    """Network emulation on the page AND on its service worker: the page's setting alone leaves the
    worker's own fetches online (checked below: a form fetched through the worker would be new)."""
    conditions = {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", conditions)
    workers = [t for t in driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"] if t["type"] == "service_worker"]
    assert len(workers) == 1, workers
    session = driver.execute_cdp_cmd("Target.attachToTarget", {"targetId": workers[0]["targetId"], "flatten": False})
    for n, (method, params) in enumerate((("Network.enable", {}), ("Network.emulateNetworkConditions", conditions))):
        message = json.dumps({"id": 9000 + n, "method": method, "params": params})
        driver.execute_cdp_cmd("Target.sendMessageToTarget", {"sessionId": session["sessionId"], "message": message})


@pytest.mark.chromium
@pytest.mark.slow
def test_a_symptom_logged_offline_is_sent_once_when_back_online(web, browser):  # noqa: F811
    ann = web.svc.athlete("ann")
    driver = browser(width=360, height=800, mobile=True)
    driver.get(f"{web.base_url}/login")
    fill(driver, {"username": "ann", "password": PASSWORD})
    settle(driver, "/")
    driver.get(f"{web.base_url}/symptoms/new")
    settle(driver, "/symptoms/new")
    _wait(driver, "return !!navigator.serviceWorker.controller", what="the service worker to control the page")
    driver.refresh()  # fetched through the worker: the form is now in its cache
    settle(driver, "/symptoms/new")
    _wait(driver, "return caches.match('/symptoms/new').then(r => !!r)", what="the form in the cache")

    cached_ms = driver.execute_script("return document.querySelector('form[data-offline]').dataset.renderedMs")
    web.clock.now += timedelta(seconds=30)  # a form the server renders from now on says so

    _offline(driver, True)
    driver.refresh()  # the form comes from the worker's cache (the worker's own fetch is offline too)
    settle(driver, "/symptoms/new")
    assert driver.execute_script("return document.querySelector('form[data-offline]').dataset.renderedMs") == cached_ms
    assert driver.execute_script(NO_SIDEWAYS_SCROLL)
    fill(driver, {"site": "knee", "side": "right", "severity": "5", "note": "offline knee"})
    status = _wait(driver, "const e = document.getElementById('offline-status'); return e && e.textContent", what="the offline message")
    assert status == "Saved offline, will be sent when you are back online."
    time.sleep(1.0)
    assert symptom_service.list_symptoms(web.svc, ann) == []  # nothing reached the server
    offline_errors = console_errors(driver)

    _offline(driver, False)
    _wait(
        driver,
        "const e = document.getElementById('offline-status'); return e && e.textContent.startsWith('Sent 1 symptom saved offline')",
        what="the replay",
    )
    (s,) = symptom_service.list_symptoms(web.svc, ann)
    assert (s.site, s.side, s.severity, s.note) == ("knee", "right", 5, "offline knee")
    driver.get(f"{web.base_url}/symptoms")  # a later page load sends nothing more
    settle(driver, "/symptoms")
    time.sleep(1.0)
    assert len(symptom_service.list_symptoms(web.svc, ann)) == 1
    assert (
        _wait(
            driver,
            "return new Promise(done => { const r = indexedDB.open('loadmon'); r.onsuccess = () => "
            "{ const q = r.result.transaction('symptom-outbox').objectStore('symptom-outbox').count(); "
            "q.onsuccess = () => done('n=' + q.result); }; })",
        )
        == "n=0"
    )
    # offline, the form's POST failed (and a retry's /api/session, if one came before going online)
    expected = {f"{web.base_url}{path} - Failed to load resource: net::ERR_INTERNET_DISCONNECTED" for path in ("/symptoms", "/api/session")}
    assert f"{web.base_url}/symptoms - Failed to load resource: net::ERR_INTERNET_DISCONNECTED" in offline_errors
    assert [e for e in offline_errors + console_errors(driver) if e not in expected] == []

    # logging out forgets the cached form (it shows who was logged in)
    from selenium.webdriver.common.by import By

    assert _wait(driver, "return caches.match('/symptoms/new').then(r => !!r)")
    driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    settle(driver, "/login")
    _wait(driver, "return caches.match('/symptoms/new').then(r => !r)", what="the cached form to be deleted")
    assert console_errors(driver) == []
