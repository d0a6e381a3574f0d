"""`loadmon scheduler` with the broker down (issue 11 item 8): one line naming the broker URL
without its password, exit 1, no traceback (SQLite; no Redis needed: nothing listens there)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from loadmon.cli import app
from tests.conftest import _to_toml
from tests.receivers import free_port

PASSWORD = "hunter2-broker-pw"


@pytest.mark.parametrize("args", [["scheduler", "--once"], ["scheduler"]], ids=["once", "run"])
@pytest.mark.slow
def test_the_scheduler_with_the_broker_down_says_so_in_one_line(tmp_path, args) -> None:
    pytest.importorskip("celery", reason="celery is not installed (pip install '.[scale]')")
    port = free_port()  # free a moment ago: nothing listens on it
    cfg = tmp_path / "loadmon.toml"
    cfg.write_text(_to_toml({"database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
                             "worker": {"broker_url": f"redis://:{PASSWORD}@127.0.0.1:{port}/0"}}), encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # typer's exit, not an escaped exception
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert f"redis://:***@127.0.0.1:{port}/0" in errors[0] and "worker.broker_url" in errors[0]
    assert PASSWORD not in result.output
