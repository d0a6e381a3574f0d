"""`GET /api/status` is `loadmon status --json`; the `loadmon user` commands; `loadmon --help` stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from loadmon.service import users as user_service
from tests.web.conftest import PASSWORD, import_demo_runs


@pytest.mark.slow
def test_api_status_equals_loadmon_status_json(web, tmp_path):
    day = web.clock.now.date()
    assert import_demo_runs(web.svc, "ann", tmp_path / "fit", end=day) > 10
    env = {**os.environ, "LOADMON_DATA_DIR": str(tmp_path / "data")}
    for when in (day, day - timedelta(days=9)):
        cli = subprocess.run([sys.executable, "-m", "loadmon", "--config", str(web.config_path), "--athlete", "ann",
                              "status", "--json", "--date", when.isoformat()],
                             capture_output=True, text=True, env=env, timeout=120, check=True)
        with web.client() as c:
            web.login(c)
            api = c.get("/api/status", params={"date": when.isoformat()})
        assert api.status_code == 200
        expected = json.loads(cli.stdout)
        assert api.json() == expected
        assert expected["channels"]["distance_km"]["acute_7d"] is not None  # real numbers, not only nulls
        assert expected["longest_run_30d"] is not None


def test_api_status_of_a_bad_date_is_400_and_defaults_to_today(web):
    with web.client() as c:
        web.login(c, "bob")
        assert c.get("/api/status", params={"date": "2026-13-40"}).status_code == 400
        data = c.get("/api/status").json()
    assert data["athlete"] == "bob" and data["date"] == web.clock.now.date().isoformat()


@pytest.mark.slow
def test_today_shows_the_numbers_of_status(web, tmp_path):
    day = web.clock.now.date()
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=day)
    with web.client() as c:
        web.login(c)
        status = c.get("/api/status").json()
        page = c.get("/").text
    dist = status["channels"]["distance_km"]
    assert f"{dist['acute_7d']:.1f} km" in page and f"{dist['previous_7d']:.1f} km" in page
    for value in dist["acwr"].values():
        if value is not None:
            assert f"{value:.2f}" in page
    longest = status["longest_run_30d"]["distance_km"]
    assert f"{longest:.2f} km" in page and f"longer than {longest * 1.10:.2f} km" in page


def _cli(config_path, *args, stdin=None):
    from loadmon.cli import app

    return CliRunner().invoke(app, ["--config", str(config_path), *args], input=stdin)


@pytest.mark.slow
def test_user_commands(web):
    r = _cli(web.config_path, "user", "add", "coach1", "--athlete", "bob", "--role", "coach", "--password-stdin",
             stdin="a long password\n")
    assert r.exit_code == 0, r.output
    r = _cli(web.config_path, "user", "list", "--json")
    users = {u["name"]: u for u in json.loads(r.stdout)}
    assert users["coach1"]["athlete"] == "bob" and users["coach1"]["role"] == "coach"
    assert all("hash" not in k and "password" not in k for u in users.values() for k in u)
    assert _cli(web.config_path, "user", "add", "coach1", "--athlete", "bob", "--password-stdin",
                stdin="a long password\n").exit_code == 2  # exists
    assert _cli(web.config_path, "user", "add", "x", "--athlete", "nobody", "--password-stdin",
                stdin="a long password\n").exit_code == 2
    assert _cli(web.config_path, "user", "add", "y", "--athlete", "bob", "--role", "king", "--password-stdin",
                stdin="a long password\n").exit_code == 2
    r = _cli(web.config_path, "user", "add", "z", "--athlete", "bob", "--password-stdin", stdin="short\n")
    assert r.exit_code == 2 and "password" in r.output
    assert _cli(web.config_path, "user", "passwd", "ann", "--password-stdin", stdin="another password\n").exit_code == 0
    with web.client() as c:
        assert web.login(c, "ann", PASSWORD).status_code == 401
        assert web.login(c, "ann", "another password").status_code == 303
    assert _cli(web.config_path, "user", "remove", "coach1").exit_code == 0
    assert _cli(web.config_path, "user", "remove", "coach1").exit_code == 2
    assert "coach1" not in [u.name for u in user_service.list_users(web.svc)]


def test_user_add_prompts_for_the_password_twice(web):
    r = _cli(web.config_path, "user", "add", "carol", "--athlete", "ann", stdin="pass word 9\npass word 9\n")
    assert r.exit_code == 0, r.output
    assert "pass word 9" not in r.output


def test_help_does_not_import_the_web_stack():
    code = ("import sys; from loadmon.cli import app; from typer.testing import CliRunner; "
            "CliRunner().invoke(app, ['--help']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('starlette', 'uvicorn', 'jinja2', 'argon2', 'itsdangerous', 'multipart', 'python_multipart')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
