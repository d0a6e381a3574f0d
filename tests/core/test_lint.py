"""The lint gate (`make lint`, run by CI before the tests): ruff and mypy find nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=REPO_ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_and_no_noqa_is_unused() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ci_script_runs_the_lint_gate_before_the_tests() -> None:
    lines = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert "set -euo pipefail" in lines  # a failing `make lint` ends the run
    assert "make lint" in lines and "make test" in lines
    assert lines.index("make lint") < lines.index("make test")


@pytest.mark.slow
def test_mypy_finds_nothing() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
