"""``[web] enabled = true``: `loadmon daemon` (a real process) also serves the web app; SIGTERM stops both, exit 0."""

from __future__ import annotations

import socket
import statistics
import subprocess
import time

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.daemon.helpers import DaemonProcess, cli_env, loadmon_cmd, wait_until, write_config
from tests.web.conftest import PASSWORD, csrf_of, free_port

pytestmark = pytest.mark.slow  # real daemon processes


def _with_web(tmp_path, port: int):
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[web]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n')
    return config


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_daemon_serves_the_web_app_and_sigterm_stops_both(tmp_path) -> None:
    port = free_port()
    config, env = _with_web(tmp_path, port), cli_env(tmp_path)
    for args, stdin in (
        (("athlete", "add", "ann"), None),
        (("user", "add", "ann", "--athlete", "ann", "--password-stdin"), PASSWORD + "\n"),
    ):
        done = subprocess.run(loadmon_cmd(config, *args), env=env, cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    daemon = DaemonProcess(config, env, tmp_path / "daemon.log")
    try:

        def healthy() -> bool:
            assert daemon.proc.poll() is None, daemon.log_text()
            try:
                return httpx.get(f"{base}/healthz", timeout=2).json() == {"ok": True}
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30, interval=0.02, what="/healthz")
        start_s = time.monotonic() - t0
        started = daemon.wait_for_event("daemon.web_started")
        assert (started["host"], started["port"]) == ("127.0.0.1", port)
        assert "daemon.started" in [e["event"] for e in daemon.events()]  # the jobs run beside it
        with httpx.Client(base_url=base, timeout=10) as c:
            times = []
            for _ in range(50):
                t = time.perf_counter()
                assert c.get("/healthz").status_code == 200
                times.append(time.perf_counter() - t)
            token = csrf_of(c.get("/login").text)  # the daemon's database: the login made above works
            r = c.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 303, r.text
            assert c.get("/api/session").json()["athlete"] == "ann"
        code, stop_s = daemon.terminate(timeout=10)
        assert code == 0, daemon.log_text()
        assert not _listening(port)
        events = [e["event"] for e in daemon.events()]
        assert events[-1] == "daemon.stopped"
        print(
            f"\ndaemon start -> /healthz answering: {start_s:.2f} s; /healthz median "
            f"{statistics.median(times) * 1000:.1f} ms (50 requests); SIGTERM -> exit 0: {stop_s:.2f} s"
        )
    finally:
        daemon.stop()


def test_a_taken_port_stops_the_daemon_with_a_message_naming_the_keys(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config, env = _with_web(tmp_path, port), cli_env(tmp_path)
        done = subprocess.run(loadmon_cmd(config, "daemon"), env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"could not listen on 127.0.0.1:{port} ([web] host, port)" in done.stderr + done.stdout
