"""structlog configuration: called once, at the entry point (CLI or daemon).

Console rendering for people, JSON lines for machines (``--log-json``, the daemon). Logs go to
stderr, never to stdout (the commands' output). The CLI logs warnings and errors unless
``--verbose``; the daemon logs from ``logging.level`` (info).

:func:`mask_text` is loadmon's one secret-masking scheme: a processor applies it to every text
value of a log event (and masks whole values of secret-looking keys), and the job runs recorded
in the database pass their error text through it (:func:`loadmon.service.jobrunner.safe_text`),
so a token or password is masked the same way in a log line and in ``daemon status``.

structlog is imported on first use, so ``loadmon --help`` does not pay for it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

SECRET_KEYS = ("token", "secret", "password", "authorization", "code")
_SECRET_PATTERNS = (
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s/]+@"), r"\1:***@"),
    # token=..., "password": "...", code=...
    (re.compile(r"(?i)\b(access_token|refresh_token|client_secret|password|passwd|secret|token|code|api_key|apikey)"
                r"(['\"]?\s*[=:]\s*['\"]?)[^\s&'\",}]+"), r"\1\2***"),
    # Authorization: Bearer ..., Basic ...
    (re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+"), r"\1 ***"),
)
_configured = False


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with credentials masked: URL passwords, ``token=...``-style values, ``Bearer ...``,
    and each of ``secrets`` (known secret values, such as configured passwords, of 4+ characters)."""
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _mask_secrets(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if key != "event" and any(s in key.lower() for s in SECRET_KEYS):
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = mask_text(value)
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
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    structlog.configure(  # masking after format_exc_info: a formatted traceback is masked too
        processors=[*shared, structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
                    _mask_secrets, renderer],
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
