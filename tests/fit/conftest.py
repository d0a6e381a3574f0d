"""Fixtures for the FIT connector tests: the real files, their catalog, cached reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.fit import FitReadResult, read_fit


@pytest.fixture(scope="session")
def fit_dir(shared_fixtures: Path) -> Path:
    folder = shared_fixtures / "fit"
    if not folder.is_dir():
        pytest.skip(f"no FIT fixtures in {folder}")
    return folder


@pytest.fixture(scope="session")
def catalog(fit_dir: Path) -> dict[str, dict[str, Any]]:
    """catalog.json by file name: values read by fitdecode/fitparse, not by loadmon."""
    return {entry["file"]: entry for entry in json.loads((fit_dir / "catalog.json").read_text())}


@pytest.fixture(scope="session")
def read_real(fit_dir: Path) -> Callable[..., FitReadResult]:
    """read_fit on a real file, cached per (file, options): the big files take ~0.5 s each."""
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], FitReadResult] = {}

    def read(file_name: str, **options: Any) -> FitReadResult:
        key = (file_name, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = read_fit((fit_dir / file_name).read_bytes(), name=file_name, **options)
        return cache[key]

    return read
