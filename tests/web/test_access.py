"""Login required everywhere but /login and /healthz; CSRF on every POST; an athlete reaches only their own objects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.service import symptoms as symptom_service
from loadmon.service import users as user_service
from tests.web.conftest import csrf_of

PAGES = ["/", "/symptoms", "/symptoms/new", "/checkin", "/alerts", "/alerts/1", "/activities", "/upload", "/charts",
         "/insights", "/plan", "/settings"]
POSTS = ["/symptoms", "/symptoms/1/resolve", "/symptoms/1/updates", "/checkin", "/alerts/1/acknowledge", "/logout", "/upload",
         "/settings",
         "/settings/test-alert", "/admin/users", "/admin/users/1/remove", "/strava/connect", "/strava/disconnect"]
API_GETS = ["/api/status", "/api/charts"]
#: pages for some roles only: an athlete (ann) gets 404 (tests/web/test_club.py, test_accounts.py)
ROLE_PAGES = ["/club", "/admin/users"]
#: Answer without a login: no user data in them (browsers fetch a manifest and its worker without credentials).
OPEN = ["/healthz", "/login", "/manifest.webmanifest", "/sw.js", "/icons/icon-192.png", "/icons/icon-512.png"]
#: Open because Strava cannot log in: its callback checks the verify token (GET: 403 without it) and only records
#: events naming our subscription and a connected athlete (tests/strava_webhooks).
OPEN_WEBHOOK = ["/strava/webhook"]


@pytest.mark.slow
def test_healthz_answers_without_a_login(web):
    with web.client() as c:
        r = c.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_the_open_paths_answer_without_a_login_and_hold_no_user_data(web):
    from loadmon.web.app import OPEN_PATHS

    assert set(OPEN) | set(OPEN_WEBHOOK) == set(OPEN_PATHS)
    with web.client() as c:
        for path in OPEN:
            r = c.get(path)
            assert r.status_code == 200, path
            assert "set-cookie" not in r.headers or path == "/login", path
            assert b"ann" not in r.content and b"bob" not in r.content, path
        for path in OPEN_WEBHOOK:
            r = c.get(path, params={"hub.mode": "subscribe", "hub.challenge": "x", "hub.verify_token": "guess"})
            assert r.status_code == 403 and "set-cookie" not in r.headers, path


def test_every_route_without_a_session_redirects_or_is_401(web):
    with web.client() as c:
        for path in PAGES + ROLE_PAGES:
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


def _store_an_alert(svc, athlete) -> int:
    """One stored alert of the athlete (the first one: id 1), as an evaluation stores it."""
    from alerts.alert import Alert
    from loadmon.domain import AlertSeverity

    day = svc.clock().date()
    alert = Alert(rule="weekly_ramp", severity=AlertSeverity.WARNING, athlete_id=athlete.id, athlete_name=athlete.name,
                  local_date=day, activity_id=None, title="Your week jumped 24%", message="38 km after 31 km.",
                  numbers={"ramp_pct": 24.0}, rule_text="Weekly ramp above 10%.", evidence="Weak.",
                  dedupe_key=f"weekly_ramp:{athlete.id}:{day}")
    alert_id = svc.store.add_alert(athlete.id, rule=alert.rule, severity=alert.severity.value, local_date=day,
                                   activity_id=None, dedupe_key=alert.dedupe_key, message=alert.message,
                                   payload=alert.to_dict(), notified=False, channels=[], now=svc.clock())
    assert alert_id is not None
    return alert_id


def test_login_then_pages_answer_and_logout_ends_the_session(web):
    assert _store_an_alert(web.svc, web.svc.athlete("ann")) == 1  # /alerts/1
    with web.client() as c:
        r = web.login(c)
        assert (r.status_code, r.headers["location"]) == (303, "/")
        for path in PAGES:
            assert c.get(path).status_code == 200, path
        for path in ROLE_PAGES:
            assert c.get(path).status_code == 404, path
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


def test_another_athletes_activity_is_404_and_an_upload_needs_the_token(web):
    from loadmon.domain import ActivityRecord

    bob = web.svc.athlete("bob")
    rec = ActivityRecord(source="fit", source_id=77, sport="running", start_time=web.clock.now - timedelta(days=1),
                         distance_m=12_345.0, name="bob secret loop", content_hash="b1",
                         profile=((0.0, 10.0), (12_345.0, 20.0)))
    (theirs,) = web.svc.store.record_import(bob.id, path="bob.fit", content_hash="b1", records=[rec],
                                            outcome="imported").activity_ids
    with web.client() as c:
        web.login(c, "ann")
        r = c.get(f"/activities/{theirs}")
        assert r.status_code == 404 and "bob secret loop" not in r.text and "12.35" not in r.text
        assert "bob secret loop" not in c.get("/activities").text
        assert c.get("/api/activities").json() == []
        for token in (None, "wrong-token"):
            data = {} if token is None else {"csrf_token": token}
            r = c.post("/upload", data=data, files=[("files", ("a.fit", b"x" * 100, "application/octet-stream"))])
            assert r.status_code == 403
    assert web.svc.store.list_activities(web.svc.athlete("ann").id) == []


@pytest.mark.slow
def test_every_object_route_answers_404_for_another_athletes_object_and_leaves_it_alone(web, tmp_path):
    """Walks the route table: every route with an ``{..._id}`` is tried by bob with ann's object of
    that kind (an id that exists); each answers 404 without ann's data, and nothing of ann's changes.
    A new kind of object route fails here until it is given an object below."""
    from starlette.routing import Route

    from loadmon.service import alerting
    from loadmon.web.app import create_app
    from tests.web.conftest import import_demo_runs

    ann = web.svc.athlete("ann")
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date(), days=20)
    symptom = symptom_service.add_symptom(web.svc, ann, "knee", "left", "outer", 5,
                                          at=web.clock.now - timedelta(hours=1), note="ann private note")
    alert_id = _store_an_alert(web.svc, ann)
    (activity, *_) = web.svc.store.list_activities(ann.id)
    ann_user = next(u for u in user_service.list_users(web.svc) if u.name == "ann")
    ids = {"symptom_id": symptom.id, "alert_id": alert_id, "activity_id": activity.id, "user_id": ann_user.id}

    routes = [r for r in create_app(web.svc).routes if isinstance(r, Route) and "_id}" in r.path]
    assert len(routes) >= 5
    with web.client() as c:
        web.login(c, "bob")
        token = csrf_of(c.get("/").text)
        for route in routes:
            path = route.path
            for key, value in ids.items():
                path = path.replace("{" + key + "}", str(value))
            assert "{" not in path, f"no object of ann's for {route.path}: add one to this test"
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                r = c.request(method, path, data={"csrf_token": token} if method == "POST" else None)
                assert r.status_code == 404, (method, path, r.status_code)
                assert "ann private note" not in r.text and "Your week jumped" not in r.text, (method, path)
    assert symptom_service.list_symptoms(web.svc, ann)[0].resolved_at is None
    assert alerting.get_alert(web.svc, ann, alert_id)["acknowledged_at"] is None
    assert "ann" in {u.name for u in user_service.list_users(web.svc)}
