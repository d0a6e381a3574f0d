"""`--help` reads cleanly (no `<bool>` after flags, no `<list[Path]>`), `--version` exists, and start-up
stays light: `loadmon --help` imports no database, logging or alert code (timings: bench/cli_startup.py)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
import typer.main
from typer.testing import CliRunner

from loadmon.cli import app
from tests.conftest import REPO_ROOT
from tests.core.test_cli_docs import COMMANDS


@pytest.mark.parametrize("path", [(), *[p for p, _ in COMMANDS]], ids=lambda p: " ".join(p) or "loadmon")
def test_help_shows_no_type_noise(path) -> None:
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output and "list[" not in res.output


def test_import_help_names_its_arguments() -> None:
    res = CliRunner().invoke(app, ["import", "--help"], env={"COLUMNS": "200"})
    assert "<path>..." in res.output


def test_version() -> None:
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.stdout.strip() == f"loadmon {version('loadmon')}"


def test_verbose_is_a_global_option() -> None:
    params = {p.name for p in typer.main.get_command(app).params}
    assert {"verbose", "log_json", "config", "athlete"} <= params


HEAVY = ("sqlalchemy", "alembic", "structlog", "apprise", "loadmon.storage", "loadmon.service", "stravalib")


def test_help_imports_no_database_or_alert_code() -> None:
    probe = ("import sys\nfrom loadmon.cli import main\nsys.argv = ['loadmon', '--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("LOADED []"), out.stdout[-500:] + out.stderr


@pytest.mark.slow
def test_a_command_on_an_up_to_date_database_does_not_import_alembic(cli) -> None:
    assert cli("athlete", "add", "ann").exit_code == 0  # creates and migrates the database
    probe = ("import sys\nfrom loadmon.cli import main\n"
             f"sys.argv = ['loadmon', '--config', {str(cli.config)!r}, 'status']\n"
             "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
             "print('LOADED', sorted(m for m in ('alembic', 'mako') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("LOADED []"), out.stdout[-500:] + out.stderr


def test_the_schema_check_without_alembic_agrees_with_alembic(tmp_path) -> None:
    from sqlalchemy import create_engine

    from loadmon.storage import migrate

    assert migrate.head_from_files() == migrate.head_revision()
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert not migrate.at_head(engine)  # no schema yet: alembic creates it
        migrate.upgrade(engine, "0001")
        assert not migrate.at_head(engine)  # an older schema: alembic upgrades it
        migrate.upgrade(engine)
        assert migrate.at_head(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
