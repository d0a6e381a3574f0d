"""structlog configuration: called once, at the entry point (CLI or daemon).

Console rendering for people, JSON lines for machines (``--log-json``, the daemon). A
processor masks values of secret-looking keys so tokens and passwords never reach a log.
Logs go to stderr, never to stdout (the commands' output). The CLI logs warnings and errors
unless ``--verbose``; the daemon logs from ``logging.level`` (info).

structlog is imported on first use, so ``loadmon --help`` does not pay for it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

SECRET_KEYS = ("token", "secret", "password", "authorization", "code")
_configured = False


def _mask_secrets(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key != "event" and any(s in key.lower() for s in SECRET_KEYS):
            event[key] = "***"
    return event


class _CurrentStderr:
    """A file-like object that writes to whatever ``sys.stderr`` is at write time (so test
    runners that swap stderr never leave the logger holding a closed stream)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(*, json: bool = False, level: str = "info", stream: Any = None) -> None:
    """Configure structlog and the standard library root logger (third-party libraries)."""
    global _configured
    import structlog

    lvl = getattr(logging, level.upper(), logging.INFO)
    stream = stream or _CurrentStderr()
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_secrets,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info if json else structlog.dev.set_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(max(lvl, logging.WARNING))  # libraries: warnings and up
    _configured = True


class _Logger:
    """A structlog logger that imports structlog when it first logs."""

    __slots__ = ("_name",)

    def __init__(self, name: str | None) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import structlog

        return getattr(structlog.get_logger(self._name), attr)


def get_logger(name: str | None = None) -> Any:
    return _Logger(name)
