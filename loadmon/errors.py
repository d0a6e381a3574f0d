"""The one error hierarchy of loadmon.

Third-party errors (SQLAlchemy, stravalib, requests, smtplib, apprise, FIT decoders) are
translated into these at the boundary where they occur, so callers (service, CLI, daemon)
only ever catch :class:`LoadmonError` subclasses. Messages name the file, field, key or
value at fault and never contain secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any


class LoadmonError(Exception):
    """Base of every error loadmon raises on purpose."""


class ConfigError(LoadmonError):
    """The configuration is invalid: names the key (``section.key``) and what is wrong."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class ValidationError(LoadmonError):
    """User input (a CLI option, a symptom, a date) is not acceptable; says what is allowed."""


class StorageError(LoadmonError):
    """The database could not be reached or a write failed.

    ``reason`` says which, for callers that decide on it (never parse the message):
    ``unreachable`` (no connection could be made: host down, wrong credentials, a SQLite file
    that cannot be opened), ``busy`` (the database was reached but stayed locked past
    ``database.busy_timeout_s``), ``schema`` (the schema is not at the version loadmon needs,
    or its upgrade failed), ``invalid_url`` (the configured URL cannot be used) and ``error``
    (any other database error).
    """

    REASONS = ("unreachable", "busy", "schema", "invalid_url", "error")

    def __init__(self, message: str, *, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason if reason in self.REASONS else "error"


class NotFoundError(LoadmonError):
    """A requested athlete, activity, symptom or alert does not exist."""


class ImportFileError(LoadmonError):
    """One input file could not be imported. Always names the file."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class CorruptFileError(ImportFileError):
    """The file is not a readable FIT file (empty, truncated, bad CRC, bad header, ...)."""


class UnsupportedFileError(ImportFileError):
    """The file is valid but holds no activity (settings, monitoring, course, ...): skipped."""


class ConnectorError(LoadmonError):
    """An external source (Strava) failed."""


class IntervalsError(ConnectorError):
    """intervals.icu refused or failed a request: ``status`` (HTTP status, None without an answer), ``path``
    (the API path, never the key), ``reason`` (``auth``, ``not_found``, ``rate_limited``, ``server``, ``network``)."""

    def __init__(self, message: str, *, status: int | None, path: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.path = path
        self.reason = reason


class StravaError(ConnectorError):
    """Strava answered with an error that is not retried away."""


class StravaAuthReason(StrEnum):
    """Why Strava (or loadmon) refused access; set where the error is raised."""

    GRANT = "grant"  # the athlete's grant is missing, revoked or lacks a scope: the athlete reconnects
    AUTHORIZATION_CODE = "authorization_code"  # the code of a connect attempt was refused (single-use, expired)
    REDIRECT = "redirect"  # the OAuth redirect was refused, forged, empty or never came
    APPLICATION_CREDENTIALS = "application_credentials"  # [strava] client_id / client_secret refused: config
    APPLICATION_INACTIVE = "application_inactive"  # Strava marked the application inactive (every request 403)


class StravaAuthError(StravaError):
    """Tokens are missing, revoked or rejected: the athlete must reconnect (``reason`` says
    whose problem it is: the athlete's grant, or the application's credentials/state)."""

    def __init__(self, message: str, *, reason: StravaAuthReason = StravaAuthReason.GRANT) -> None:
        super().__init__(message)
        self.reason = reason


class StravaMalformedError(StravaError):
    """A Strava response could not be understood; names the activity."""


class RateLimitExhausted(StravaError):
    """The request budget is spent and waiting was not allowed (``--no-wait``)."""

    def __init__(self, message: str, *, resume_at: datetime, counts: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.resume_at = resume_at
        self.counts: dict[str, Any] = dict(counts or {})  # what the interrupted run did before the budget ran out

    def with_counts(self, counts: Mapping[str, Any]) -> RateLimitExhausted:
        """The same error carrying ``counts`` (raise it ``from`` this one)."""
        return RateLimitExhausted(str(self), resume_at=self.resume_at, counts=counts)


class DeliveryError(LoadmonError):
    """An alert could not be delivered on one channel (retried by the outbox).

    ``permanent``: the far side refused for good - an SMTP 5xx reply (RFC 5321: "permanent
    negative completion"), such as 535 bad credentials or 550 no such mailbox, or a server
    that cannot be used safely (no STARTTLS). Sending the same message again cannot succeed
    until a setting changes, so the outbox marks it failed at once instead of retrying it for
    hours; ``loadmon alerts deliver --retry-failed`` sends it after the fix.
    """

    def __init__(self, message: str, *, permanent: bool = False, key: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.key = key  # the config key at fault (``alerts.email.password``), when a setting is the cause


class DaemonLockedError(LoadmonError):
    """Another daemon already runs against the same database."""


class BrokerUnavailableError(LoadmonError):
    """The task broker (``worker.broker_url``, Redis) cannot be reached. ``url`` is the broker
    URL without its password; ``reason`` what the connection attempt said."""

    def __init__(self, *, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the task broker {url} (worker.broker_url): {reason}; start Redis or fix "
                         "worker.broker_url")
        self.url = url
        self.reason = reason


class ImplausibleValueError(LoadmonError):
    """A value from outside (a FIT file, a Strava activity) is outside its plausible range.

    Raised at the connector boundary (``connectors.plausibility``) when a whole activity must be
    refused (a start in 2126, a negative elapsed time); an implausible optional value (descent,
    max heart rate) is dropped to null with a warning instead. ``source`` names the file or the
    activity (``strava activity 123``), ``field`` the record field, ``value`` the offending value
    (as text, never a secret) and ``allowed`` the documented range.
    """

    def __init__(self, *, source: str, field: str, value: str, allowed: str) -> None:
        super().__init__(f"{source}: {field} = {value} is not plausible (allowed: {allowed})")
        self.source = source
        self.field = field
        self.value = value
        self.allowed = allowed


class OutputFileError(LoadmonError):
    """A file loadmon writes (the HTML report) could not be written: ``path`` and ``reason``
    (the operating system's words, e.g. "Permission denied")."""

    def __init__(self, *, path: str, reason: str) -> None:
        super().__init__(f"{path}: cannot write: {reason}")
        self.path = path
        self.reason = reason
