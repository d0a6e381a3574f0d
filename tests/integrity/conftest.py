"""Fixtures for the data-integrity tests: the real HTTP receiver and the alert tests' helpers."""

from __future__ import annotations

from tests.alerts.conftest import _logs_to_real_stderr  # noqa: F401 - autouse: CLI runs log to a closed stream otherwise
from tests.receivers import http_receiver  # noqa: F401 - pytest fixture
