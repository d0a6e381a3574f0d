"""Login throttling (injected clock, no sleeping), the session cookie's flags, no secret in any page or log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from loadmon.service import users as user_service
from loadmon.web.app import create_app
from tests.web.conftest import PASSWORD, Clock, csrf_of, make_service, serving


@pytest.fixture
def app_and_clock(tmp_path, monkeypatch):
    clock = Clock()
    svc, _ = make_service(tmp_path, monkeypatch, clock=clock)
    throttle = user_service.LoginThrottle(clock=clock)
    yield create_app(svc, throttle=throttle), clock
    svc.close()


def _attempt(client: TestClient, name: str, password: str):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                       follow_redirects=False)


def test_twenty_wrong_passwords_are_slowed_and_the_right_one_waits_too(app_and_clock):
    app, clock = app_and_clock
    with TestClient(app, client=("198.51.100.7", 40000)) as c:
        codes = [_attempt(c, "ann", f"wrong-{i}").status_code for i in range(20)]
        assert codes == [401] * 5 + [429] * 15  # only 5 were checked at all
        throttled = _attempt(c, "ann", PASSWORD)
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert "Too many failed logins" in throttled.text
        clock.now += timedelta(seconds=int(throttled.headers["Retry-After"]))
        assert _attempt(c, "ann", PASSWORD).status_code == 303
        # a success starts the count afresh
        assert [_attempt(c, "ann", "wrong").status_code for _ in range(5)] == [401] * 5


@pytest.mark.slow
def test_each_further_failure_doubles_the_wait_up_to_fifteen_minutes(app_and_clock):
    app, clock = app_and_clock
    waits = []
    with TestClient(app, client=("198.51.100.8", 40000)) as c:
        for _ in range(20):
            r = _attempt(c, "ann", "wrong")
            if r.status_code == 429:
                waits.append(int(r.headers["Retry-After"]))
                clock.now += timedelta(seconds=waits[-1])
                assert _attempt(c, "ann", "wrong").status_code == 401  # after the wait: checked again
    assert waits[:5] == [2, 4, 8, 16, 32]
    assert max(waits) == 900 and waits == sorted(waits)


@pytest.mark.slow
def test_failures_count_per_address_and_per_account(app_and_clock):
    app, clock = app_and_clock
    with TestClient(app, client=("198.51.100.9", 40000)) as attacker:
        for i in range(5):
            _attempt(attacker, f"nobody{i}", "wrong")  # five accounts, one address
        assert _attempt(attacker, "bob", PASSWORD).status_code == 429
    with TestClient(app, client=("203.0.113.5", 40000)) as elsewhere:
        assert _attempt(elsewhere, "bob", PASSWORD).status_code == 303  # bob from another address
        for _ in range(5):
            _attempt(elsewhere, "ann", "wrong")
    with TestClient(app, client=("192.0.2.44", 40000)) as third:
        assert _attempt(third, "ann", PASSWORD).status_code == 429  # ann's account is throttled anywhere


def _cookie_header(response) -> str:
    (header,) = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    return header


def _flags(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_session_cookie_is_httponly_samesite_lax_and_not_secure_over_plain_http(web):
    with web.client() as c:
        r = web.login(c)
    flags = _flags(_cookie_header(r))
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    assert "path=/" in flags and "max-age=2592000" in flags  # session_days = 30


def test_session_cookie_is_secure_under_https(app_and_clock):
    app, _ = app_and_clock
    with TestClient(app, base_url="https://testserver", client=("198.51.100.10", 1)) as c:
        r = _attempt(c, "ann", PASSWORD)
    assert r.status_code == 303
    flags = _flags(_cookie_header(r))
    assert {"secure", "httponly", "samesite=lax"} <= flags


def test_session_cookie_is_secure_when_the_public_url_is_https(tmp_path, monkeypatch):
    clock = Clock()
    svc, config_path = make_service(tmp_path, monkeypatch, '[web]\npublic_url = "https://run.example.org"\n', clock)
    try:
        with serving(svc, config_path, clock) as web, web.client() as c:
            # (a client keeps a Secure cookie for https only: behind the proxy, as public_url says)
            assert {"secure", "httponly", "samesite=lax"} <= _flags(_cookie_header(c.get("/login")))
    finally:
        svc.close()


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_https_is_believed_only_from_a_trusted_proxy(tmp_path, monkeypatch, trusted):
    clock = Clock()
    extra = '[web]\ntrusted_proxies = ["127.0.0.1"]\n' if trusted else ""
    svc, config_path = make_service(tmp_path, monkeypatch, extra, clock)
    try:
        with serving(svc, config_path, clock) as web, web.client() as c:
            r = c.get("/login", headers={"X-Forwarded-Proto": "https"})
            assert ("secure" in _flags(_cookie_header(r))) is trusted
    finally:
        svc.close()


def test_no_password_hash_or_secret_in_any_page_or_log(web, capfd, caplog):
    secret = user_service.web_secret(web.svc)
    with web.client() as c:
        pages = [web.login(c, "ann", "wrong password 1").text, web.login(c, "ann", PASSWORD).text]
        pages += [c.get(p).text for p in ("/", "/symptoms", "/symptoms/new", "/api/status", "/login", "/healthz")]
        token = csrf_of(c.get("/symptoms/new").text)
        pages.append(c.post("/symptoms", data={"site": "knee", "severity": "99", "csrf_token": token}).text)
    out, err = capfd.readouterr()
    for text in [*pages, out, err, caplog.text]:
        assert "$argon2" not in text
        assert PASSWORD not in text and "wrong password 1" not in text
        assert secret not in text
    assert re.search(r"argon2", "".join(pages)) is None


def test_passwords_are_stored_as_argon2id(web):
    from sqlalchemy import text

    with web.svc.store.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE name = 'ann'")).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and PASSWORD not in stored
