"""`[web] auth_header`: the reverse proxy's user header logs in, but only from `[web] trusted_proxies`."""

from __future__ import annotations

import pytest

from tests.web.conftest import Clock, csrf_of, make_service, serving


@pytest.fixture
def proxied(tmp_path, monkeypatch, request):
    """The app with ``auth_header = "X-Remote-User"``; the test connects from 127.0.0.1, which is
    trusted or not as the test's parameter says."""
    trusted = request.param
    clock = Clock()
    svc, config_path = make_service(
        tmp_path, monkeypatch, extra=f'[web]\nauth_header = "X-Remote-User"\ntrusted_proxies = ["{trusted}"]\n', clock=clock
    )
    try:
        with serving(svc, config_path, clock) as running:
            yield running
    finally:
        svc.close()


@pytest.mark.parametrize("proxied", ["127.0.0.1"], indirect=True)
def test_the_header_from_a_trusted_proxy_logs_in(proxied):
    with proxied.client() as c:
        r = c.get("/symptoms/new", headers={"X-Remote-User": "bob"})
        assert r.status_code == 200 and "Log out bob" in r.text
        # a session cookie comes with it, so its forms (CSRF) work behind the proxy
        token = csrf_of(r.text)
        r = c.post(
            "/symptoms", data={"site": "knee", "side": "left", "severity": "4", "csrf_token": token}, headers={"X-Remote-User": "bob"}
        )
        assert r.status_code == 303
        # the header names the user even when X-Forwarded-For claims another client
        r = c.get("/api/session", headers={"X-Remote-User": "ann", "X-Forwarded-For": "203.0.113.9"})
        assert r.status_code == 200 and r.json()["user"] == "ann"
        # the header wins over the cookie of another user; a POST still needs that session's token
        r = c.post(
            "/symptoms", data={"site": "knee", "side": "left", "severity": "4", "csrf_token": token}, headers={"X-Remote-User": "ann"}
        )
        assert r.status_code == 403
    assert [s.severity for s in _symptoms(proxied, "bob")] == [4] and _symptoms(proxied, "ann") == []


@pytest.mark.parametrize("proxied", ["127.0.0.1"], indirect=True)
def test_an_unknown_user_in_the_header_is_not_logged_in(proxied):
    with proxied.client() as c:
        r = c.get("/", headers={"X-Remote-User": "mallory"})
        assert (r.status_code, r.headers.get("location")) == (303, "/login")
        assert c.get("/api/status", headers={"X-Remote-User": "mallory"}).status_code == 401
        # not even with a valid session cookie of someone else: the proxy said who this is
        proxied.login(c, "ann")
        assert c.get("/api/status").status_code == 200
        assert c.get("/api/status", headers={"X-Remote-User": "mallory"}).status_code == 401


@pytest.mark.parametrize("proxied", ["10.9.9.9"], indirect=True)
def test_the_header_from_any_other_address_is_ignored(proxied):
    with proxied.client() as c:
        r = c.get("/", headers={"X-Remote-User": "ann"})
        assert (r.status_code, r.headers.get("location")) == (303, "/login")
        assert c.get("/api/status", headers={"X-Remote-User": "ann"}).status_code == 401
        assert c.get("/api/status", headers={"X-Remote-User": "ann", "X-Forwarded-For": "10.9.9.9"}).status_code == 401
        # a logged-in bob stays bob whatever the header says
        proxied.login(c, "bob")
        assert c.get("/api/session", headers={"X-Remote-User": "ann"}).json()["user"] == "bob"


def _symptoms(web, name):
    from loadmon.service import symptoms as symptom_service

    return symptom_service.list_symptoms(web.svc, web.svc.athlete(name))
