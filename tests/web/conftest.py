"""The web app on a real SQLite database, served by uvicorn on 127.0.0.1 (a free port, in a thread).

Two athletes, ann and bob, each with a login (``ann`` / ``bob``, password :data:`PASSWORD`).
``web.client()`` is an httpx client on the live server; ``web.login(client)`` logs in through the form.
"""

from __future__ import annotations

import functools
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from loadmon.config import load_config
from loadmon.service import Service
from loadmon.service import users as user_service

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Web:
    svc: Service
    config_path: Path
    base_url: str
    clock: Clock

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=30)

    def login(self, client: httpx.Client, name: str = "ann", password: str = PASSWORD) -> httpx.Response:
        token = csrf_of(client.get("/login").text)
        return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str = "", clock: Clock | None = None) -> tuple[Service, Path]:
    monkeypatch.setenv("LOADMON_DATA_DIR", str(tmp_path / "data"))
    config_path = tmp_path / "config.toml"
    config_path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n{extra}', encoding="utf-8")
    config_path.chmod(0o600)
    svc = Service.open(load_config(config_path, env={}), clock=clock)
    for name in ("ann", "bob"):
        svc.add_athlete(name)
        user_service.add_user(svc, name, athlete_name=name, role="athlete", password=PASSWORD)
    return svc, config_path


@contextmanager
def serving(svc: Service, config_path: Path, clock: Clock) -> Iterator[Web]:
    """The app on uvicorn on 127.0.0.1 (a free port) in a thread, for the duration of the block."""
    from loadmon.web.server import server

    port = free_port()
    srv = server(svc, host="127.0.0.1", port=port)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Web(svc=svc, config_path=config_path, base_url=f"http://127.0.0.1:{port}", clock=clock)
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def web(tmp_path, monkeypatch):
    clock = Clock()
    svc, config_path = make_service(tmp_path, monkeypatch, clock=clock)
    try:
        with serving(svc, config_path, clock) as running:
            yield running
    finally:
        svc.close()


@functools.lru_cache(maxsize=4)
def demo_files(end: date) -> tuple:
    """The demo story's FIT files ending on ``end``, encoded once per test process (about 1.3 s)."""
    from loadmon import demo_story

    return tuple(demo_story.iter_files(end))


def import_demo_runs(svc: Service, athlete_name: str, folder: Path, *, end: date, days: int = 70) -> int:
    """The demo story's FIT files of the last ``days`` days, imported the way `loadmon import` does."""
    from loadmon.service.imports import import_paths

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for run, name, data in demo_files(end):
        if run.day >= end - timedelta(days=days):
            (folder / name).write_bytes(data)
            paths.append(folder / name)
    import_paths(svc, svc.athlete(athlete_name), paths)
    return len(paths)
