"""Personal API tokens: `loadmon user token | tokens | revoke-token`, Bearer auth on /api/* only."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from typer.testing import CliRunner

from loadmon.service import symptoms as symptom_service
from tests.web.conftest import csrf_of


def _cli(config_path, *args):
    from loadmon.cli import app

    return CliRunner().invoke(app, ["--config", str(config_path), *args])


def _db_file(web) -> str:
    return web.svc.config.database_url.removeprefix("sqlite:///")


def _new_token(web, user: str = "ann", label: str = "phone script") -> str:
    r = _cli(web.config_path, "user", "token", user, "--label", label)
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("lm_") and len(token) >= 40
    return token


def _tokens(web, user: str = "ann") -> list[dict]:
    r = _cli(web.config_path, "user", "tokens", user, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_token_round_trip_list_and_revoke(web):
    token = _new_token(web)
    listed = _tokens(web)
    assert [(t["label"], t["last_used_at"], t["revoked_at"]) for t in listed] == [("phone script", None, None)]
    with web.client() as c:
        r = c.get("/api/status", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["athlete"] == "ann"
        assert "set-cookie" not in r.headers  # a bearer request never gets a session cookie
        who = c.get("/api/session", headers={"Authorization": f"Bearer {token}"}).json()
        assert who["user"] == "ann" and who["csrf_token"] is None
    assert _tokens(web)[0]["last_used_at"] is not None
    r = _cli(web.config_path, "user", "revoke-token", "ann", str(listed[0]["id"]))
    assert r.exit_code == 0, r.output
    assert _tokens(web)[0]["revoked_at"] is not None
    with web.client() as c:
        r = c.get("/api/status", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json() == {"error": "token unknown or revoked"}


def test_unknown_or_malformed_tokens_are_401_and_a_user_revokes_only_their_own(web):
    token = _new_token(web, "ann")
    ann_id = _tokens(web, "ann")[0]["id"]
    with web.client() as c:
        for bad in ("lm_" + "x" * 43, token[:-1], "garbage", token + "x", "lm_"):
            r = c.get("/api/alerts", headers={"Authorization": f"Bearer {bad}"})
            assert r.status_code == 401, bad
    assert _cli(web.config_path, "user", "revoke-token", "bob", str(ann_id)).exit_code == 2  # not bob's
    assert _cli(web.config_path, "user", "token", "nobody").exit_code == 2
    with web.client() as c:
        assert c.get("/api/alerts", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_database_holds_only_the_hash(web):
    token = _new_token(web)
    with sqlite3.connect(_db_file(web)) as db:
        rows = db.execute("SELECT token_hash, name FROM api_tokens").fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "phone script")]
    raw = b"".join(open(p, "rb").read() for p in (_db_file(web), _db_file(web) + "-wal") if _exists(p))
    assert token.encode() not in raw and token[3:].encode() not in raw


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path)


def test_bearer_posts_only_to_the_api_and_never_replaces_csrf_on_forms(web):
    token = _new_token(web)
    auth = {"Authorization": f"Bearer {token}"}
    ann = web.svc.athlete("ann")
    with web.client() as c:
        r = c.post("/api/symptoms", json={"site": "knee", "side": "left", "severity": 3}, headers=auth)
        assert r.status_code == 201 and "set-cookie" not in r.headers
        # a form route ignores the bearer token: no session, so the login page
        r = c.post("/symptoms", data={"site": "knee", "side": "left", "severity": "4"}, headers=auth)
        assert (r.status_code, r.headers.get("location")) == (303, "/login")
        assert c.get("/symptoms", headers=auth).status_code == 303
        # with a session cookie but no CSRF token, the bearer token does not stand in for it
        web.login(c)
        r = c.post("/symptoms", data={"site": "knee", "side": "left", "severity": "5"}, headers=auth)
        assert r.status_code == 403
        assert c.post("/symptoms/1/resolve", headers=auth).status_code == 403
        assert c.post("/logout", headers=auth).status_code == 403
        assert (
            c.post(
                "/symptoms", data={"site": "knee", "side": "left", "severity": "6", "csrf_token": csrf_of(c.get("/symptoms/new").text)}
            ).status_code
            == 303
        )
    assert sorted(s.severity for s in symptom_service.list_symptoms(web.svc, ann)) == [3, 6]


def test_a_removed_users_tokens_stop_working(web):
    token = _new_token(web, "bob")
    assert _cli(web.config_path, "user", "remove", "bob").exit_code == 0
    with sqlite3.connect(_db_file(web)) as db:
        assert db.execute("SELECT COUNT(*) FROM api_tokens").fetchone() == (0,)  # cascaded
    with web.client() as c:
        assert c.get("/api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 401
