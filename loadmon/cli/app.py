"""The typer application, its global options and shared helpers for the command modules."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from loadmon.config import Config, load_config
from loadmon.errors import ConfigError, LoadmonError
from loadmon.logs import configure_logging
from loadmon.service import Service

app = typer.Typer(
    name="loadmon",
    help="loadmon: a self-hosted training-load monitor for runners (ACWR, weekly ramp, run and descent spikes, symptom-aware alerts).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Not a terminal (pipes, CI, `make demo | less`): a fixed wide layout instead of rich's 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True)


@dataclass
class State:
    config_path: Path | None = None
    log_json: bool = False
    athlete: str | None = None
    config: Config | None = None
    service: Service | None = None


state = State()


@app.callback()
def _main(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file (default: $LOADMON_CONFIG or the user config dir).", envvar="LOADMON_CONFIG")] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines to stderr (for machines).")] = False,
    athlete: Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name (default: the single athlete).", envvar="LOADMON_ATHLETE")] = None,
) -> None:
    state.config_path = config
    state.log_json = log_json
    state.athlete = athlete
    state.config = None
    state.service = None


def fail(message: str, code: int = 1) -> NoReturn:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def get_config() -> Config:
    if state.config is None:
        try:
            state.config = load_config(state.config_path)
        except ConfigError as exc:
            fail(str(exc), 2)
        configure_logging(json=state.log_json or state.config.logging.json, level=state.config.logging.level)
    return state.config


def get_service() -> Service:
    if state.service is None:
        state.service = Service.open(get_config())
    return state.service


@contextmanager
def handled() -> Iterator[None]:
    """Turn loadmon errors into a clear message and a non-zero exit (no traceback)."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), 2)
    except LoadmonError as exc:
        fail(str(exc), 1)
    finally:
        if state.service is not None:
            state.service.close()
            state.service = None


def json_default(obj: Any) -> Any:
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _finite(obj: Any) -> Any:
    """JSON has no NaN or infinity: such a float becomes null (``--json`` never prints ``Infinity``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def print_json(data: Any) -> None:
    try:
        text = json.dumps(data, default=json_default, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:  # a NaN/infinity somewhere (to_dict() output included): print it as null
        text = json.dumps(_finite(json.loads(json.dumps(data, default=json_default))), indent=2, ensure_ascii=False,
                          allow_nan=False)
    sys.stdout.write(text + "\n")


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (use YYYY-MM-DD)", 2)


def parse_when(value: str | None, option: str, tz: str) -> datetime | None:
    """Parse 'YYYY-MM-DD HH:MM' (athlete-local unless it carries an offset) to an aware datetime."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date/time (use 'YYYY-MM-DD HH:MM' or ISO 8601)", 2)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt


def command(group: typer.Typer | None = None, **kwargs: Any) -> Callable:
    return (group or app).command(**kwargs)
