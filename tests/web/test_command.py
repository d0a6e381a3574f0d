"""`loadmon web` as users run it: a real process serving on the given port; a bad port is exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.web.conftest import free_port


@pytest.mark.slow
def test_loadmon_web_serves_until_stopped(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n[web]\nport = 1\n', encoding="utf-8")
    config.chmod(0o600)
    port = free_port()
    env = {**os.environ, "LOADMON_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "loadmon", "--config", str(config), "web", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "loadmon web did not answer"
                time.sleep(0.1)
        assert r.json() == {"ok": True} and "server" not in r.headers
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 303
        assert (tmp_path / "data" / "web-secret").stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"serving on http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err


def test_a_bad_port_is_exit_2(tmp_path):
    from typer.testing import CliRunner

    from loadmon.cli import app

    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n', encoding="utf-8")
    config.chmod(0o600)
    r = CliRunner().invoke(app, ["--config", str(config), "web", "--port", "70000"])
    assert r.exit_code == 2 and "--port: 70000 is not a port" in r.output
