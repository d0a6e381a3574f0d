"""The dependency rules of the design card, checked on every run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

STDLIB = set(sys.stdlib_module_names)


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(REPO_ROOT / "pyproject.toml")], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _pure_violations(package: Path, allowed_prefixes: tuple[str, ...]) -> list[str]:
    bad = []
    for file in sorted(package.rglob("*.py")):
        for name in _imports(file):
            top = name.split(".")[0]
            if top in STDLIB or top == "__future__" or name.startswith(allowed_prefixes):
                continue
            bad.append(f"{file.relative_to(REPO_ROOT)} imports {name}")
    return bad


def test_engine_uses_only_the_standard_library() -> None:
    engine = REPO_ROOT / "loadmon" / "engine"
    assert engine.is_dir()
    assert _pure_violations(engine, ("loadmon.engine", "loadmon.domain", "loadmon.sports", "loadmon.elevation",
                                      "loadmon.load_channels")) == []


def test_the_shared_vocabularies_use_only_the_standard_library() -> None:
    """The channel table and the rule thresholds: read by the engine, the rules, the report and the config."""
    for name in ("load_channels.py", "rule_thresholds.py"):
        file = REPO_ROOT / "loadmon" / name
        assert file.is_file()
        bad = [n for n in _imports(file) if n.split(".")[0] not in STDLIB and n != "__future__"
               and not n.startswith(("loadmon.domain", "loadmon.load_channels"))]
        assert bad == [], f"{name} imports {bad}"


def test_alert_rules_use_only_the_standard_library() -> None:
    rules = REPO_ROOT / "alerts" / "rules"
    if not rules.exists():
        rules = REPO_ROOT / "alerts" / "rules.py"
    assert rules.exists()
    pkg = rules if rules.is_dir() else rules.parent
    files = [rules] if rules.is_file() else None
    allowed = ("alerts.rules", "alerts.alert", "alerts.evidence", "loadmon.engine", "loadmon.domain", "loadmon.sports",
               "loadmon.load_channels", "loadmon.rule_thresholds")
    if files:
        bad = [f"{rules.name} imports {n}" for n in _imports(rules)
               if n.split(".")[0] not in STDLIB and n != "__future__" and not n.startswith(allowed)]
    else:
        bad = _pure_violations(pkg, allowed)
    assert bad == []


def test_the_backtest_is_pure() -> None:
    """alerts/backtest.py: the standard library, the domain, the engine and the rules (no storage, no clock)."""
    file = REPO_ROOT / "alerts" / "backtest.py"
    allowed = ("alerts.rules", "alerts.alert", "loadmon.engine", "loadmon.domain")
    bad = [n for n in _imports(file) if n.split(".")[0] not in STDLIB and n != "__future__" and not n.startswith(allowed)]
    assert bad == []


def test_only_storage_imports_sqlalchemy() -> None:
    offenders = []
    for top in ("loadmon", "connectors", "alerts"):
        for file in (REPO_ROOT / top).rglob("*.py"):
            if "storage" in file.relative_to(REPO_ROOT).parts:
                continue
            if any(n.split(".")[0] in {"sqlalchemy", "alembic"} for n in _imports(file)):
                offenders.append(str(file.relative_to(REPO_ROOT)))
    assert offenders == []


@pytest.mark.slow
def test_the_cli_loads_stravalib_only_when_a_strava_call_is_made() -> None:
    """stravalib pulls in pint's unit registry (about half a second): every `loadmon` command, the daemon and
    each worker would pay it at start even when no Strava request is made. The connector imports it on first use."""
    probe = ("import sys, loadmon.cli, loadmon.daemon, connectors.strava, loadmon.service; "
             "print(sorted(m for m in ('stravalib', 'pint') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
