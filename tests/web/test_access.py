"""Login required everywhere but /login and /healthz; CSRF on every POST; an athlete reaches only their own objects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.service import symptoms as symptom_service
from tests.web.conftest import csrf_of

PAGES = ["/", "/symptoms", "/symptoms/new", "/alerts", "/charts"]
POSTS = ["/symptoms", "/symptoms/1/resolve", "/logout"]
API_GETS = ["/api/status", "/api/charts"]


def test_healthz_answers_without_a_login(web):
    with web.client() as c:
        r = c.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_every_route_without_a_session_redirects_or_is_401(web):
    with web.client() as c:
        for path in PAGES:
            r = c.get(path)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
        for path in POSTS:
            r = c.post(path, data={"site": "knee", "severity": "3"})
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
        for path in API_GETS:
            r = c.get(path)
            assert r.status_code == 401 and r.json() == {"error": "login required"}, path
        c.cookies.set("loadmon_session", "forged.value.sig")
        assert c.get("/api/status").status_code == 401
        assert c.get("/").status_code == 303


def test_every_registered_route_needs_a_login(web):
    """Walks the app's own route table, so a route added later is covered without listing it here."""
    from starlette.routing import Mount, Route

    from loadmon.web.app import OPEN_PATHS, create_app

    app = create_app(web.svc)
    checked = 0
    with web.client() as c:
        for route in app.routes:
            if isinstance(route, Mount) or not isinstance(route, Route) or route.path in OPEN_PATHS:
                continue
            path = route.path.replace("{", "").replace("}", "")  # a placeholder becomes a plain segment
            path = "/".join("1" if part.endswith("_id") else part for part in path.split("/"))
            for method in sorted(route.methods or {"GET"}):
                if method == "HEAD":
                    continue
                r = c.request(method, path)
                expected = (401,) if path.startswith("/api/") else (303,)
                assert r.status_code in expected, (method, path, r.status_code)
                if r.status_code == 303:
                    assert r.headers["location"] == "/login", (method, path)
                checked += 1
    assert checked >= len(PAGES) + len(POSTS)


def test_login_then_pages_answer_and_logout_ends_the_session(web):
    with web.client() as c:
        r = web.login(c)
        assert (r.status_code, r.headers["location"]) == (303, "/")
        for path in PAGES:
            assert c.get(path).status_code == 200, path
        for path in API_GETS:
            assert c.get(path).status_code == 200, path
        token = csrf_of(c.get("/").text)
        assert c.post("/logout", data={"csrf_token": token}).status_code == 303
        assert c.get("/api/status").status_code == 401


def test_a_removed_user_session_is_void(web):
    from loadmon.service import users as user_service

    with web.client() as c:
        web.login(c)
        user_service.remove_user(web.svc, "ann")
        assert c.get("/api/status").status_code == 401


def test_another_athletes_symptom_is_404_and_never_shown(web):
    bob = web.svc.athlete("bob")
    theirs = symptom_service.add_symptom(web.svc, bob, "knee", "left", None, 6,
                                         at=web.clock.now - timedelta(hours=1), note="bob private note")
    with web.client() as c:
        web.login(c, "ann")
        token = csrf_of(c.get("/symptoms").text)
        assert "bob private note" not in c.get("/symptoms").text
        assert "bob private note" not in c.get("/").text
        r = c.post(f"/symptoms/{theirs.id}/resolve", data={"csrf_token": token})
        assert r.status_code == 404 and "bob" not in r.text
        assert c.post("/symptoms/999999/resolve", data={"csrf_token": token}).status_code == 404
        assert c.post("/symptoms/abc/resolve", data={"csrf_token": token}).status_code == 404
    assert symptom_service.list_symptoms(web.svc, bob)[0].resolved_at is None


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_post_without_the_right_csrf_token_is_refused(web, token):
    form = {"site": "knee", "side": "left", "severity": "4"}
    with web.client() as c:
        web.login(c)
        if token is not None:
            form["csrf_token"] = token
        assert c.post("/symptoms", data=form).status_code == 403
        assert c.post("/logout", data={} if token is None else {"csrf_token": token}).status_code == 403
        assert c.get("/api/status").status_code == 200  # the refused logout did not log out
    assert symptom_service.list_symptoms(web.svc, web.svc.athlete("ann")) == []


def test_login_needs_the_csrf_token_of_its_form(web):
    with web.client() as c:
        r = c.post("/login", data={"username": "ann", "password": "correct horse battery"})
        assert r.status_code == 403
        assert c.get("/api/status").status_code == 401


def test_another_session_token_is_not_accepted(web):
    with web.client() as a, web.client() as b:
        web.login(a, "ann")
        web.login(b, "bob")
        bobs_token = csrf_of(b.get("/symptoms/new").text)
        r = a.post("/symptoms", data={"site": "knee", "side": "left", "severity": "4", "csrf_token": bobs_token})
        assert r.status_code == 403
