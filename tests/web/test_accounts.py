"""Roles: `/admin/users` for admins only (anyone else 404), with CSRF; the CLI stays the main tool."""

from __future__ import annotations

import re

from loadmon.service import users as user_service
from tests.web.conftest import PASSWORD, csrf_of


def _admin(web):
    user_service.add_user(web.svc, "root", athlete_name="ann", role="admin", password=PASSWORD)
    user_service.add_user(web.svc, "coachy", athlete_name="bob", role="coach", password=PASSWORD)


def test_only_an_admin_reaches_the_user_admin(web):
    _admin(web)
    for login in ("ann", "coachy"):
        with web.client() as c:
            web.login(c, login)
            token = csrf_of(c.get("/").text)
            r = c.get("/admin/users")
            assert r.status_code == 404 and "root" not in r.text, login
            form = {"name": "eve", "athlete": "ann", "role": "admin", "password": "eve's password", "csrf_token": token}
            assert c.post("/admin/users", data=form).status_code == 404, login
            root_id = user_service.find_user(web.svc, "root").id
            assert c.post(f"/admin/users/{root_id}/remove", data={"csrf_token": token}).status_code == 404
            assert 'href="/admin/users"' not in c.get("/").text
    assert user_service.find_user(web.svc, "eve") is None and user_service.find_user(web.svc, "root") is not None


def test_an_admin_lists_adds_and_removes_users_with_csrf(web):
    _admin(web)
    with web.client() as c:
        web.login(c, "root")
        page = c.get("/admin/users").text
        assert 'href="/admin/users"' in page and 'href="/club"' in page
        for name in ("ann", "bob", "coachy", "root"):
            assert f"<td>{name}</td>" in page
        assert "argon2" not in page.lower()
        token = csrf_of(page)
        form = {"name": "dora", "athlete": "bob", "role": "coach", "password": "dora's password"}
        assert c.post("/admin/users", data=form).status_code == 403  # no CSRF token
        r = c.post("/admin/users", data={**form, "csrf_token": token})
        assert (r.status_code, r.headers["location"]) == (303, "/admin/users?done=added")
        dora = user_service.find_user(web.svc, "dora")
        assert (dora.athlete_name, dora.role) == ("bob", "coach")
        r = c.post("/admin/users", data={**form, "name": "dora", "csrf_token": token})
        assert r.status_code == 400 and "already exists" in r.text and "dora&#39;s password" not in r.text
        r = c.post("/admin/users", data={**form, "name": "<b>x</b>", "role": "king", "csrf_token": token})
        assert r.status_code == 400 and "role &#39;king&#39; is not allowed" in r.text and "<b>x</b>" not in r.text
        r = c.post("/admin/users", data={**form, "name": "short", "password": "short", "csrf_token": token})
        assert r.status_code == 400 and "password" in r.text
        assert c.post(f"/admin/users/{dora.id}/remove").status_code == 403
        r = c.post(f"/admin/users/{dora.id}/remove", data={"csrf_token": token})
        assert (r.status_code, r.headers["location"]) == (303, "/admin/users?done=removed")
        assert c.post(f"/admin/users/{dora.id}/remove", data={"csrf_token": token}).status_code == 404
        root_id = user_service.find_user(web.svc, "root").id
        r = c.post(f"/admin/users/{root_id}/remove", data={"csrf_token": token})
        assert r.status_code == 400 and "your own login" in r.text
    assert user_service.find_user(web.svc, "dora") is None and user_service.find_user(web.svc, "root") is not None
    with web.client() as c:  # the added and removed login cannot log in
        assert web.login(c, "dora", "dora's password").status_code == 401


def test_a_user_added_on_the_page_logs_in_with_their_role(web):
    _admin(web)
    with web.client() as c:
        web.login(c, "root")
        token = csrf_of(c.get("/admin/users").text)
        c.post("/admin/users", data={"name": "cora", "athlete": "bob", "role": "coach", "password": "cora's password", "csrf_token": token})
    with web.client() as c:
        assert web.login(c, "cora", "cora's password").status_code == 303
        assert c.get("/api/session").json() | {"csrf_token": None} == {
            "user": "cora",
            "athlete": "bob",
            "role": "coach",
            "csrf_token": None,
        }
        assert c.get("/club").status_code == 200 and c.get("/admin/users").status_code == 404
        assert re.search(r'<a href="/settings">Settings</a>', c.get("/").text)
