"""deploy/: checked as far as possible without Docker (parsed, cross-checked with the code)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from loadmon.config import load_config
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def test_systemd_unit_runs_the_daemon_hardened_as_loadmon() -> None:
    unit = _unit("loadmon.service")
    svc = unit["Service"]
    assert svc["User"] == "loadmon"
    assert svc["ExecStart"] == "/opt/loadmon/.venv/bin/loadmon daemon"
    assert svc["Restart"] == "on-failure"
    assert svc["TimeoutStopSec"] == "15"
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "true", "NoNewPrivileges": "true",
                       "PrivateTmp": "true", "ReadWritePaths": "/var/lib/loadmon", "StateDirectory": "loadmon"}.items():
        assert svc[key] == value, key
    assert svc["EnvironmentFile"].lstrip("-") == "/etc/loadmon/loadmon.env"
    # exit codes the CLI uses for "bad config" and "another daemon holds the lock" stop the restart loop
    from loadmon.cli.daemon import EXIT_LOCKED

    assert set(svc["RestartPreventExitStatus"].split()) == {"2", str(EXIT_LOCKED)}
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    health = _unit("loadmon-health.service")["Service"]
    assert health["ExecStart"] == "/opt/loadmon/.venv/bin/loadmon daemon status"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path) -> None:
    # verify checks that ExecStart exists: point it at a binary that does, keep everything else
    names = ["loadmon.service", "loadmon-health.service", "loadmon-health.timer"]
    for name in names:
        text = (DEPLOY / name).read_text(encoding="utf-8").replace("/opt/loadmon/.venv/bin/loadmon", "/bin/true")
        (tmp_path / name).write_text(text, encoding="utf-8")
    res = subprocess.run(["systemd-analyze", "verify", *[str(tmp_path / n) for n in names]],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "loadmon" not in res.stderr, res.stderr  # no warnings about our units


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_containerfile_is_slim_non_root_with_health_check_and_volumes() -> None:
    ins = _instructions(DEPLOY / "Containerfile")
    froms = [rest for word, rest in ins if word == "FROM"]
    assert froms and all(f.startswith("python:3.11-slim") for f in froms)
    final = ins[max(i for i, (w, _) in enumerate(ins) if w == "FROM"):]  # the last stage
    users = [rest for word, rest in final if word == "USER"]
    assert users == ["loadmon"]
    assert any("useradd" in rest and "loadmon" in rest for word, rest in final if word == "RUN")
    assert any("pip install ." in rest for word, rest in ins if word == "RUN")
    (health,) = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert '"loadmon", "daemon", "status"' in health
    (volume,) = [rest for word, rest in final if word == "VOLUME"]
    assert "/etc/loadmon" in volume and "/var/lib/loadmon" in volume
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "LOADMON_CONFIG=/etc/loadmon/config.toml" in env and "LOADMON_DATA_DIR=/var/lib/loadmon" in env
    assert ("CMD", '["daemon"]') in final and ("ENTRYPOINT", '["loadmon"]') in final
    # every COPY source exists in the build context (the repository root)
    for word, rest in ins:
        if word == "COPY" and "--from" not in rest:
            *sources, _dest = rest.split()
            for src in sources:
                if src != "README.md":  # the lead's README (pyproject's readme) lands with the release
                    assert (REPO_ROOT / src).exists(), src


def test_the_image_config_is_valid_and_watches_the_volume(tmp_path) -> None:
    cfg = load_config(DEPLOY / "container-config.toml", env={"LOADMON_DATA_DIR": str(tmp_path)})
    assert cfg.fit.watch_dirs == ["/watch"]
    assert cfg.database.url == ""


def test_compose_has_postgres_16_and_the_daemon_with_health_checks() -> None:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = doc["services"]
    pg, app = services["postgres"], services["loadmon"]
    assert pg["image"] == "postgres:16"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert app["build"]["dockerfile"] == "deploy/Containerfile"
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).is_file()
    assert app["command"] == ["daemon"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["healthcheck"]["test"] == ["CMD", "loadmon", "daemon", "status"]
    url = app["environment"]["LOADMON_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://loadmon:${POSTGRES_PASSWORD") and url.endswith("@postgres:5432/loadmon")
    assert re.search(r"\d+s$", app["stop_grace_period"]) and int(app["stop_grace_period"][:-1]) > 10
    targets = {re.sub(r"\$\{[^}]*\}", "SRC", v).split(":")[1] for v in app["volumes"]}
    assert {"/etc/loadmon", "/var/lib/loadmon", "/watch"} <= targets
    named = {v.split(":")[0] for v in app["volumes"] + pg["volumes"] if not v.startswith(("$", ".", "/"))}
    assert named <= set(doc["volumes"])
    assert pg["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")  # no default password


def test_example_env_files_hold_no_real_secret() -> None:
    for name in ("loadmon.env.example", "env.example"):
        for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
            if "=" in line and ("PASSWORD" in line.split("=")[0] or "SECRET" in line.split("=")[0]):
                assert "change-me" in line.lower(), line


def test_the_container_serves_the_web_app_on_8080_published_on_loopback(tmp_path) -> None:
    ins = _instructions(DEPLOY / "Containerfile")
    assert ("EXPOSE", "8080") in ins
    cfg = load_config(DEPLOY / "container-config.toml", env={"LOADMON_DATA_DIR": str(tmp_path)})
    assert (cfg.web.enabled, cfg.web.host, cfg.web.port) == (True, "0.0.0.0", 8080)
    yaml = pytest.importorskip("yaml")
    app = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))["services"]["loadmon"]
    assert app["ports"] == ["127.0.0.1:${LOADMON_WEB_PORT:-8080}:8080"]
    assert "LOADMON_WEB_PORT=8080" in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines()


def test_the_reverse_proxy_examples_forward_to_the_web_app_with_https() -> None:
    caddy = (DEPLOY / "Caddyfile.example").read_text(encoding="utf-8")
    assert "reverse_proxy 127.0.0.1:8080" in caddy
    assert "header_up X-Forwarded-For {remote_host}" in caddy and "header_up X-Forwarded-Proto {scheme}" in caddy
    assert "trusted_proxies" in caddy and 'public_url = "https://' in caddy
    nginx = (DEPLOY / "nginx.conf.example").read_text(encoding="utf-8")
    for line in ("proxy_pass http://127.0.0.1:8080;", "proxy_set_header X-Forwarded-For $remote_addr;",
                 "proxy_set_header X-Forwarded-Proto $scheme;", "listen 443 ssl;", "return 301 https://"):
        assert line in nginx, line
    assert nginx.count("{") == nginx.count("}") and caddy.count("{") == caddy.count("}")
    assert "trusted_proxies" in nginx
