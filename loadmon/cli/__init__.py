"""The `loadmon` command line (typer + rich). Commands live in one module per group."""

from __future__ import annotations

import importlib

from loadmon.cli.app import app

# Command modules register themselves on import. Optional ones land with later features.
for _module in ("core", "activities", "status", "insights", "symptoms", "alerts", "strava", "strava_webhook", "daemon", "club",
                "worker", "web", "plan", "intervals"):
    try:
        importlib.import_module(f"loadmon.cli.{_module}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a feature is absent
        if exc.name != f"loadmon.cli.{_module}":
            raise


def main() -> None:
    app()


__all__ = ["app", "main"]
