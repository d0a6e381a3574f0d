"""The typer application, its global options and shared helpers for the command modules.

Start-up stays light: ``loadmon --help`` imports no database or alert code. Command modules
reach the service through :func:`lazy` names (``load_service = lazy("loadmon.service.load")``),
imported on first use.

Exit codes: 0 ok; 1 the command ran and something failed (a file, a delivery, Strava); 2 bad
input (an option, an argument, a name or id that does not exist, the configuration); 3 locked
or budget spent (see the command); 130 interrupted.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from loadmon.cli.render import console, err_console, fit_consoles, say  # noqa: F401 - the command modules import the consoles from here
from loadmon.config import Config, load_config
from loadmon.errors import ConfigError, LoadmonError, NotFoundError, ValidationError
from loadmon.logs import configure_logging

#: Bad input: a wrong option or argument, an unknown name or id, an invalid configuration.
EXIT_BAD_INPUT = 2
#: The dates loadmon accepts (``--date``, ``--since``, ``--at``): older or later ones are refused (exit 2).
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2100, 12, 31)


class lazy:
    """A module (or one of its attributes) imported on first use."""

    def __init__(self, module: str, attr: str | None = None) -> None:
        self._module = module
        self._attr = attr

    def _target(self) -> Any:
        mod = importlib.import_module(self._module)
        return getattr(mod, self._attr) if self._attr else mod

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)


if TYPE_CHECKING:
    from loadmon.service import Service
else:
    Service = lazy("loadmon.service", "Service")

app = typer.Typer(
    name="loadmon",
    help="loadmon: a self-hosted training-load monitor for runners (ACWR, weekly ramp, run and descent spikes, symptom-aware alerts).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _plain_help_types() -> None:
    """Flags take no value: no ``<bool>`` after them in --help; a list shows ``<path>...``, not ``<list[Path]>``."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover - another typer layout: its default help
        return
    for cls in (TyperOption, TyperArgument):
        original = getattr(cls, "display_type_rich", None)
        if original is None or getattr(original, "_loadmon", False):
            continue

        def display_type_rich(self: Any, ctx: Any, _original: Any = original) -> str | None:
            if getattr(self, "is_flag", False) or getattr(self, "count", False):
                return None
            if self.metavar is not None:
                return self.metavar
            text = _original(self, ctx)
            if isinstance(text, str) and text.startswith("<list[") and text.endswith("]>"):
                return f"<{text[6:-2].lower()}>..."
            return text

        display_type_rich._loadmon = True  # type: ignore[attr-defined]
        cls.display_type_rich = display_type_rich  # type: ignore[method-assign]


_plain_help_types()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("loadmon")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
            v = "unknown"
        sys.stdout.write(f"loadmon {v}\n")
        raise typer.Exit(0)


@dataclass
class State:
    config_path: Path | None = None
    log_json: bool = False
    verbose: bool = False
    athlete: str | None = None
    config: Config | None = None
    service: Service | None = None


state = State()


@app.callback()
def _main(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file (default: $LOADMON_CONFIG or the user config dir).", envvar="LOADMON_CONFIG")] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines to stderr (for machines).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress (info) to stderr; by default only warnings and errors.")] = False,
    athlete: Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name (default: the single athlete).", envvar="LOADMON_ATHLETE")] = None,
    _show_version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)] = False,
) -> None:
    fit_consoles()
    state.config_path = config
    state.log_json = log_json
    state.verbose = verbose
    state.athlete = athlete
    state.config = None
    state.service = None


def fail(message: str, code: int = 1) -> NoReturn:
    say(("error:", "bold red"), " ", message, err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    say(("warning:", "yellow"), " ", message, err=True)


def _log_level(configured: str) -> str:
    """Commands are quiet (warnings and errors) unless --verbose (info, or debug when configured)."""
    if state.verbose:
        return "debug" if configured == "debug" else "info"
    return "error" if configured == "error" else "warning"


_warned: set[str] = set()


def get_config() -> Config:
    """Load and validate the configuration once per command: the schema (:mod:`loadmon.config`)
    and what the service checks at start-up (alert channels, rule thresholds), the same checks
    as `loadmon config check`. A problem is exit 2 naming the key."""
    if state.config is None:
        try:
            cfg = load_config(state.config_path)
            from loadmon.service.diagnostics import check_config

            check_config(cfg)
        except ConfigError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        state.config = cfg
        configure_logging(json=state.log_json or cfg.logging.json, level=_log_level(cfg.logging.level))
        for text in cfg.warnings:
            if text not in _warned:  # once per process (the daemon reads its config once anyway)
                _warned.add(text)
                warn(text)
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
    except (ConfigError, ValidationError, NotFoundError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
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


def _in_range(day: date, value: str, option: str) -> None:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        fail(f"{option}: {value} is outside the dates loadmon accepts ({EARLIEST_DAY} to {LATEST_DAY})", EXIT_BAD_INPUT)


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (use YYYY-MM-DD)", EXIT_BAD_INPUT)
    _in_range(day, value, option)
    return day


def parse_when(value: str | None, option: str, tz: str) -> datetime | None:
    """Parse 'YYYY-MM-DD HH:MM' (athlete-local unless it carries an offset) to an aware datetime."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date/time (use 'YYYY-MM-DD HH:MM' or ISO 8601)", EXIT_BAD_INPUT)
    _in_range(dt.date(), value, option)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt


def command(group: typer.Typer | None = None, **kwargs: Any) -> Callable:
    return (group or app).command(**kwargs)
