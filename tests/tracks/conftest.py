"""A Service on SQLite for the GPX/TCX import tests."""

from __future__ import annotations

import pytest

from loadmon.service import Service
from tests.conftest import make_config


@pytest.fixture
def svc(tmp_path, monkeypatch):
    monkeypatch.setenv("LOADMON_DATA_DIR", str(tmp_path / "data"))
    service = Service.open(make_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"))
    try:
        yield service
    finally:
        service.close()
