"""What a newcomer reads: the README says how to reach `loadmon` in the venv and documents the exit
codes; the package metadata uses an SPDX license (no setuptools deprecation warning on install)."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_says_how_to_reach_the_command_in_the_venv() -> None:
    section = README[README.index("To use it for yourself"):README.index("## Commands")]
    assert "source .venv/bin/activate" in section and ".venv/bin/loadmon" in section


def test_the_readme_documents_the_exit_codes_and_the_global_options() -> None:
    assert "| 2 | bad input" in README
    for option in ("-v/--verbose", "--version", "--log-json"):
        assert option in README


def test_the_license_is_an_spdx_expression() -> None:
    meta = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["license"] == "MIT"
    assert all((REPO_ROOT / f).is_file() for f in meta["project"]["license-files"])
    assert "setuptools>=77" in meta["build-system"]["requires"]  # the first setuptools that reads it
