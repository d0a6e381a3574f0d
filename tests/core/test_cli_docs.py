"""Docs that are tested: every CLI command has help text and a line in the README."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from loadmon.cli import app
from tests.conftest import REPO_ROOT


def _commands(group, prefix: tuple[str, ...] = ()) -> list:
    out = []
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        out.append((path, cmd))
        if hasattr(cmd, "commands"):  # typer may bundle its own click: duck-type groups
            out.extend(_commands(cmd, path))
    return out


COMMANDS = _commands(typer.main.get_command(app))


def test_there_are_commands() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"import", "activities", "athlete set", "db upgrade"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_has_help_and_a_readme_line(path) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    cmd = dict(COMMANDS)[path]
    assert (cmd.help or cmd.short_help or "").strip(), f"loadmon {' '.join(path)} has no help text"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"loadmon {' '.join(path)}" in readme, f"README does not mention `loadmon {' '.join(path)}`"
